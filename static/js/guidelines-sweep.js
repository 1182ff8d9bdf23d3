// G2's slider: the group count moves, multiply-adds stay put, MAC rises (GET /api/guidelines/g2/sweep).

import { ApiError } from "./api.js";
import * as api from "./guidelines-api.js";
import { sweepChart } from "./guidelines-charts.js";
import { human } from "./guidelines-format.js";

export function initSweep(root, getState, onChange) {
  const slider = root.querySelector('[data-role="sweep-groups"]');
  const shown = root.querySelector('[data-role="sweep-groups-value"]');
  const channelsInput = root.querySelector('[data-role="sweep-channels"]');
  const readout = root.querySelector('[data-role="sweep-readout"]');
  const chart = root.querySelector('[data-role="sweep-chart"]');
  let sweep = null;
  let request = 0;

  slider.value = String(getState().g2_groups);
  channelsInput.value = String(getState().g2_channels);

  function show() {
    const g = Number(slider.value);
    shown.textContent = String(g);
    slider.setAttribute("aria-valuetext", `${g} groups`);
    if (!sweep) return;
    const p = sweep.points[g - 1];
    const first = sweep.points[0];
    const dev = p.madds_deviation * 100;
    readout.textContent = `g = ${g}: c = ${p.channels} channels, ${human(p.madds)} multiply-adds `
      + `(${dev >= 0 ? "+" : ""}${dev.toFixed(1)}% vs g = 1), MAC ${human(p.mac)} elements `
      + `(${(p.mac / first.mac).toFixed(2)}× g = 1).`;
    sweepChart(chart, sweep, g);
  }

  async function load() {
    if (!channelsInput.checkValidity()) {
      readout.textContent = `Channels must be a whole number from ${channelsInput.min} to ${channelsInput.max}.`;
      return;
    }
    const mine = ++request;
    try {
      const data = await api.sweep(Number(channelsInput.value), getState().batch);
      if (mine !== request) return;
      sweep = data;
      show();
    } catch (err) {
      if (mine === request) readout.textContent = err instanceof ApiError ? err.message : "The sweep could not load.";
    }
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
