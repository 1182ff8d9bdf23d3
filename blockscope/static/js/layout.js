// Layered layout of a block graph: layer = longest path from the input; an edge that skips layers
// gets waypoints in the layers it crosses, so shortcuts run beside the ops instead of through them.

const NODE_WIDTH = 1; // in lane units
const WAYPOINT_WIDTH = 0.35;
const GAP = 0.22;

// An SVG path through an edge's points (in pixels), each step a vertical S-curve.
export function curve(points) {
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const my = (a.y + b.y) / 2;
    d += ` C${a.x},${my} ${b.x},${my} ${b.x},${b.y}`;
  }
  return d;
}

export function layout(nodes, edges) {
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const layer = new Map();
  // nodes arrive in execution (topological) order
  for (const n of nodes) {
    const parents = edges.filter((e) => e.target === n.id).map((e) => layer.get(e.source) ?? 0);
    layer.set(n.id, parents.length ? Math.max(...parents) + 1 : 0);
  }
  const depth = Math.max(0, ...layer.values());
  const layers = Array.from({ length: depth + 1 }, () => []);
  for (const n of nodes) {
    layers[layer.get(n.id)].push({
      key: `n:${n.id}`,
      node: n,
      width: NODE_WIDTH,
      order: index.get(n.id),
      preds: [],
    });
  }
  const items = new Map(layers.flat().map((it) => [it.key, it]));
  const routes = edges.map((e, ei) => {
    const from = layer.get(e.source);
    const to = layer.get(e.target);
    const path = [`n:${e.source}`];
    const target = nodes[index.get(e.target)];
    const slot = Math.max(0, (target.inputs || []).indexOf(e.source));
    for (let l = from + 1; l < to; l++) {
      const key = `w:${ei}:${l}`;
      const it = {
        key,
        width: WAYPOINT_WIDTH,
        order: index.get(e.target) + slot / 10 + 0.05,
        preds: [path[path.length - 1]],
      };
      layers[l].push(it);
      items.set(key, it);
      path.push(key);
    }
    items.get(`n:${e.target}`).preds.push(path[path.length - 1]);
    path.push(`n:${e.target}`);
    return { edge: e, path };
  });
  for (const row of layers) {
    for (const it of row) {
      const xs = it.preds.map((k) => items.get(k).x).filter((x) => x !== undefined);
      it.desired = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
    }
    row.sort((a, b) => a.desired - b.desired || a.order - b.order);
    // place left to right without overlap, then shift the row back onto its desired centre
    let prev = null;
    for (const it of row) {
      it.x = prev ? Math.max(it.desired, prev.x + (prev.width + it.width) / 2 + GAP) : it.desired;
      prev = it;
    }
    const shift = row.reduce((s, it) => s + (it.desired - it.x), 0) / (row.length || 1);
    for (const it of row) it.x += shift;
  }
  for (const row of layers) for (const it of row) it.y = layer.get(it.node?.id) ?? layers.indexOf(row);
  const placed = nodes.map((n) => ({ node: n, x: items.get(`n:${n.id}`).x, y: layer.get(n.id) }));
  const xs = [...items.values()].map((it) => it.x);
  return {
    nodes: placed,
    edges: routes.map((r) => ({
      edge: r.edge,
      points: r.path.map((k) => ({ x: items.get(k).x, y: items.get(k).y ?? 0 })),
    })),
    minX: Math.min(...xs),
    maxX: Math.max(...xs),
    depth,
  };
}
