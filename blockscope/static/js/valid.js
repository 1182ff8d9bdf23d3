// Which values a block accepts, from the registry's schema (`group_divides`): the group count must
// divide each listed channel parameter (and that parameter over its factor: ShuffleNet V1's
// bottleneck is out_channels / 4). The controls offer only these values; a refusal lists the nearest.

const divisors = (n) => {
  const out = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
};

const gcd = (a, b) => (b ? gcd(b, a % b) : a);

const isCount = (v) => Number.isInteger(v) && v > 0;

// The group counts `values` allows, ascending (just the current one when a channel is not a count).
export function validGroups(spec, values) {
  const rules = Object.entries(spec.group_divides || {});
  if (!spec.group_param || !rules.length) return [];
  let common = 0;
  for (const [name, factor] of rules) {
    const v = values[name];
    if (!isCount(v)) return isCount(values[spec.group_param]) ? [values[spec.group_param]] : [1];
    common = gcd(common, gcd(v, Math.floor(v / factor)));
  }
  return common ? divisors(common) : [1];
}

// A channel parameter's step: a multiple of g (of factor × g) when the group count must divide it.
export function channelStep(spec, name, values) {
  const factor = spec.group_divides?.[name];
  const g = values[spec.group_param];
  return factor && isCount(g) ? factor * g : 1;
}

// The allowed values nearest to `value`: the one below and the one above (one when it is an end).
export function nearest(allowed, value) {
  const below = allowed.filter((v) => v < value).pop();
  const above = allowed.find((v) => v > value);
  return [below, above].filter((v) => v !== undefined);
}

const orList = (xs) => (xs.length > 1 ? `${xs.slice(0, -1).join(", ")} or ${xs[xs.length - 1]}` : `${xs[0]}`);

// A sentence naming what to choose instead, for a refused parameter; "" when there is nothing to add.
export function advice(spec, values, name) {
  const value = values[name];
  if (name === spec.group_param && spec.group_divides) {
    const allowed = validGroups(spec, values);
    if (!isCount(value) || allowed.includes(value) || !allowed.length) return "";
    const near = nearest(allowed, value);
    const all = allowed.length <= 12 ? ` (every value that works here: ${allowed.join(", ")})` : "";
    return `Try ${name} = ${orList(near)}${all}.`;
  }
  const step = channelStep(spec, name, values);
  if (step > 1 && isCount(value) && value % step) {
    const lower = Math.floor(value / step) * step;
    const near = [lower, lower + step].filter((v) => v > 0);
    const g = `${spec.group_param} = ${values[spec.group_param]}`;
    return `With ${g}, ${name} must be a multiple of ${step}: try ${orList(near)}.`;
  }
  return "";
}
