// G2's slider: the group count moves, multiply-adds stay put, MAC rises (GET /api/guidelines/g2/sweep).

import * as api from "./api.js";
import { role } from "./dom.js";
import { human } from "./format.js";
import { sweepChart } from "./guidelines-charts.js";
import { Latest } from "./latest.js";

const count = (value) => human(value, 2);

// `settings()` gives the page's settings (g2_groups, g2_channels, batch); `onChange(patch)` records a change.
export function initSweep(root, settings, onChange) {
  const slider = role("sweep-groups", root);
  const shown = role("sweep-groups-value", root);
  const channelsInput = role("sweep-channels", root);
  const readout = role("sweep-readout", root);
  const chart = role("sweep-chart", root);
  const requests = new Latest();
  let sweep = null;

  slider.value = String(settings().g2_groups);
  channelsInput.value = String(settings().g2_channels);

  function show() {
    const g = Number(slider.value);
    shown.textContent = String(g);
    slider.setAttribute("aria-valuetext", `${g} groups`);
    if (!sweep) return;
    const p = sweep.points[g - 1];
    const first = sweep.points[0];
    const dev = p.madds_deviation * 100;
    readout.textContent =
      `g = ${g}: c = ${p.channels} channels, ${count(p.madds)} multiply-adds ` +
      `(${dev >= 0 ? "+" : ""}${dev.toFixed(1)}% vs g = 1), MAC ${count(p.mac)} elements ` +
      `(${(p.mac / first.mac).toFixed(2)}× g = 1).`;
    sweepChart(chart, sweep, g);
  }

  function load() {
    if (!channelsInput.checkValidity()) {
      const { min, max } = channelsInput;
      readout.textContent = `Channels must be a whole number from ${min} to ${max}.`;
      return;
    }
    requests.next();
    requests.run(
      (signal) => api.guidelineSweep(Number(channelsInput.value), settings().batch, { signal }),
      (data) => {
        sweep = data;
        show();
      },
      (err) => {
        readout.textContent = err instanceof api.ApiError ? err.message : "The sweep could not load.";
      },
    );
  }

  slider.addEventListener("input", () => {
    show();
    onChange({ g2_groups: Number(slider.value) });
  });
  channelsInput.addEventListener("change", () => {
    load();
    if (channelsInput.checkValidity()) onChange({ g2_channels: Number(channelsInput.value) });
  });
  return {
    load,
    setChannels(channels) {
      channelsInput.value = String(channels);
      load();
    },
  };
}
