// lstmviz stepper: every step of a view shipped once, switched in the browser.
//
// Assembled by ui/stepper/__init__.py into one ES module: KATEX_FONT_FACES and `katex` (the vendored
// lstmviz/static/katex files), then format.js, then this file. Streamlit calls the default export on
// mount and again whenever the payload changes; the instance (and the user's step, mode, speed and
// play state) lives on per parentElement, and in MEMORY per Streamlit key across remounts.
//
// One function, render(), draws a step everywhere (slider, label, diagrams, gradients, strips,
// equations), always inside a requestAnimationFrame callback, so nothing can lag anything else.

/* global katex, KATEX_FONT_FACES, toNumber, formatNumber, formatDiagram, formatMagnitude, formatLog10,
   fillTemplate, alignedBlock */

const SVGNS = "http://www.w3.org/2000/svg";
const U = 100; // layout units (the payload's 10×6 box) -> SVG user units
const VIEW = { x: -20, y: -50, w: 1060, h: 700 }; // the 10×6 box plus room for badges
const MIN_CELL_PX = 300; // narrower columns would push labels below 11 px: wrap to rows instead
const SETTLE_MS = 400;
const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16, 32];
const MODES = [
  ["forward", "Forward values"],
  ["backward", "Backward gradients"],
  ["both", "Both"],
];
const PATH_DASHES = ["", "22 12", "4 9", "26 9 4 9"]; // by path index: solid, dashed, dotted, dash-dot
const CELL_DASHES = { solid: "", dash: "10 5", dashed: "10 5", dot: "2 4", dotted: "2 4", dashdot: "10 4 2 4", longdash: "16 6" };
const EDGE_DECADES = 12; // path widths: a shared log scale over the top 12 decades
const STRIP_DECADES = 30;

const KATEX_PLAIN = { displayMode: true, throwOnError: false, strict: "ignore", output: "html" };
const KATEX_MARKED = { ...KATEX_PLAIN, trust: (context) => context.command === "\\htmlData" };

const INSTANCES = new WeakMap();
const MEMORY = new Map();

// ---------------------------------------------------------------- colour scales (CVD-safe)
// cividis (sequential, for sigmoid gates on 0..1) and a blue–white–orange diverging scale (tanh
// values and states on −1..1): both stay ordered and distinct under deuteranopia and protanopia.
const CIVIDIS = ["#00224e", "#123570", "#3b496c", "#575d6d", "#707173", "#8a8779", "#a69d75", "#c4b56c", "#e4cf5b", "#fee838"];
const DIVERGING = ["#08306b", "#2171b5", "#6baed6", "#c6dbef", "#f7f7f7", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];

function _hex(c) {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}
const _CIV = CIVIDIS.map(_hex);
const _DIV = DIVERGING.map(_hex);

function _ramp(stops, s) {
  const x = Math.min(1, Math.max(0, s)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((j) => Math.round(a[j] + (b[j] - a[j]) * f));
}

function _css(rgb) {
  return `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
}

function _luminance(rgb) {
  const l = rgb.map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
}

function nodeColour(kind, v) {
  if (!Number.isFinite(v)) {
    if (Number.isNaN(v)) return null;
    v = v > 0 ? 1e9 : -1e9;
  }
  if (kind === "sigmoid") return _ramp(_CIV, v);
  if (kind === "tanh" || kind === "state" || kind === "linear") return _ramp(_DIV, (Math.max(-1, Math.min(1, v)) + 1) / 2);
  return null;
}

function _gradientCss(stops) {
  return `linear-gradient(to right, ${stops.join(", ")})`;
}

// ---------------------------------------------------------------- small DOM helpers
function el(tag, attrs, parent, text) {
  const node = document.createElement(tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function sv(tag, attrs, parent, text) {
  const node = document.createElementNS(SVGNS, tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

const ICONS = {
  prev: "M10 3 4 8l6 5z",
  next: "M6 3l6 5-6 5z",
  play: "M4 2.5v11l9.5-5.5z",
  back: "M12 2.5v11L2.5 8z",
  pause: "M4 3h3v10H4zM9 3h3v10H9z",
};

function icon(name) {
  return `<svg viewBox="0 0 16 16" aria-hidden="true"><path d="${ICONS[name]}"/></svg>`;
}

function ensureFonts() {
  // Shadow roots ignore @font-face; KaTeX's faces go into the document once (data: URLs, offline).
  if (typeof KATEX_FONT_FACES !== "string" || document.getElementById("lstmviz-katex-fonts")) return;
  const style = document.createElement("style");
  style.id = "lstmviz-katex-fonts";
  style.textContent = KATEX_FONT_FACES;
  document.head.appendChild(style);
}

function _estimateWidth(text, size) {
  let w = 0;
  for (const ch of text) w += ".,()".includes(ch) ? 0.3 : ch === "−" || ch === "×" ? 0.6 : 0.56;
  return w * size;
}

// setAttribute, skipped when the value is the one written last (most attributes repeat from step to
// step, and every write can cost style invalidation).
const _LAST = new WeakMap();
function setA(node, name, value) {
  let last = _LAST.get(node);
  if (!last) {
    last = new Map();
    _LAST.set(node, last);
  }
  if (last.get(name) === value) return;
  last.set(name, value);
  node.setAttribute(name, value);
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// A block's templates: one list for every step, or {sets, index} when its lines differ by step.
function _variants(block) {
  if (Array.isArray(block)) return { sets: [block], index: null };
  if (block && Array.isArray(block.sets)) return { sets: block.sets, index: block.index || null };
  return { sets: [[]], index: null };
}

function _variantAt(c, block, k) {
  const v = block === "f" ? c.eq.forward : c.eq.backward;
  return v.index ? Number(v.index[k]) || 0 : 0;
}

function _lines(c, block, k) {
  const v = block === "f" ? c.eq.forward : c.eq.backward;
  return v.sets[_variantAt(c, block, k)] || [];
}

function _float64(values, n) {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = values && i < values.length ? toNumber(values[i]) : NaN;
  return out;
}

function _nearestIndex(times, t) {
  let lo = 0;
  let hi = times.length - 1;
  if (t <= times[0]) return 0;
  if (t >= times[hi]) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= t) lo = mid;
    else hi = mid;
  }
  return t - times[lo] <= times[hi] - t ? lo : hi;
}

function _fmtInt(n) {
  // 12,345 (toLocaleString is slow enough to matter at 60 frames a second)
  const s = String(Math.trunc(Number(n)));
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

// ---------------------------------------------------------------- the component instance
class Stepper {
  constructor(host, api) {
    this.host = host;
    this.api = api;
    this.p = null;
    this.k = 0;
    this.mode = "both";
    this.speed = 1;
    this.playing = 0; // +1 forward, −1 backward
    this.lastReported = undefined;
    this.token = undefined;
    this.eqCache = new Map();
    this.valueCache = new Map();
    this.raf = 0;
    this.settleTimer = 0;
    this.idleHandle = 0;
    this.dirty = false;
    this.lastKeyInput = false;
    this.frames = 0;
    this._build();
  }

  // ------------------------------------------------------------ static DOM (controls)
  _build() {
    const root = el("div", { class: "stp", tabindex: "0", role: "group", "aria-label": "Step through the cells" });
    this.root = root;
    const defs = sv("svg", { width: "0", height: "0", style: "position:absolute", "aria-hidden": "true" }, root);
    const d = sv("defs", null, defs);
    const arrow = sv("marker", { id: "stp-arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "16", markerHeight: "16", markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, d);
    sv("path", { d: "M0 1 10 5 0 9z", fill: "#80838f" }, arrow);
    const hatch = sv("pattern", { id: "stp-hatch", width: "16", height: "16", patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, d);
    sv("rect", { width: "16", height: "16", fill: "#eeeeee" }, hatch);
    sv("rect", { width: "6", height: "16", fill: "#c8c8c8" }, hatch);

    const bar = el("div", { class: "stp-bar", role: "toolbar", "aria-label": "Step controls" }, root);
    const row1 = el("div", { class: "stp-row" }, bar);
    this.btnBack = el("button", { class: "stp-btn", type: "button", "data-act": "play-back", "aria-label": "Play backward: the gradient from the last step back to the first", "aria-pressed": "false" }, row1);
    this.btnPrev = el("button", { class: "stp-btn", type: "button", "data-act": "prev", "aria-label": "Previous step" }, row1);
    this.btnPrev.innerHTML = `${icon("prev")}<span>Prev</span>`;
    this.slider = el("input", { class: "stp-slider", type: "range", min: "0", max: "0", step: "1", value: "0", "aria-label": "Step" }, row1);
    this.btnNext = el("button", { class: "stp-btn", type: "button", "data-act": "next", "aria-label": "Next step" }, row1);
    this.btnNext.innerHTML = `<span>Next</span>${icon("next")}`;
    this.btnFwd = el("button", { class: "stp-btn", type: "button", "data-act": "play-fwd", "aria-label": "Play forward", "aria-pressed": "false" }, row1);
    this.tLabel = el("output", { class: "stp-t", "aria-live": "off" }, row1);
    this.ofLabel = el("span", { class: "stp-of" }, row1);

    const row2 = el("div", { class: "stp-row" }, bar);
    this.seg = el("span", { class: "stp-seg", role: "radiogroup", "aria-label": "Show" }, row2);
    this.modeButtons = MODES.map(([m, label]) => el("button", { type: "button", role: "radio", "data-mode": m, "aria-checked": "false" }, this.seg, label));
    const speedLabel = el("label", null, row2, "Speed ");
    this.speedSel = el("select", { "aria-label": "Playback speed" }, speedLabel);
    for (const s of SPEEDS) el("option", { value: String(s) }, this.speedSel, `${s}×`);
    this.unitLabel = el("span", { class: "stp-unit" }, row2);
    this.note = el("span", { class: "stp-note" }, row2);

    this.grid = el("div", { class: "stp-grid" }, root);
    this.legend = el("div", { class: "stp-legend" }, root);
    this.live = el("div", { class: "stp-sr", "aria-live": "polite" }, root);
    this.host.appendChild(root);
    this._bind();
  }

  _bind() {
    const on = (node, ev, fn, opts) => node.addEventListener(ev, fn, opts);
    on(this.btnPrev, "click", () => this.userStep(this.k - 1, SETTLE_MS));
    on(this.btnNext, "click", () => this.userStep(this.k + 1, SETTLE_MS));
    on(this.btnFwd, "click", () => this.togglePlay(1));
    on(this.btnBack, "click", () => this.togglePlay(-1));
    on(this.slider, "pointerdown", () => {
      this.lastKeyInput = false;
    });
    on(this.slider, "keydown", () => {
      this.lastKeyInput = true;
    });
    on(this.slider, "input", () => {
      this.stopPlay(false);
      this.setK(Number(this.slider.value));
    });
    on(this.slider, "change", () => this.scheduleSettle(this.lastKeyInput ? SETTLE_MS : 0));
    for (const b of this.modeButtons) on(b, "click", () => this.setMode(b.dataset.mode));
    on(this.seg, "keydown", (e) => {
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      e.preventDefault();
      e.stopPropagation();
      const i = MODES.findIndex(([m]) => m === this.mode);
      const j = (i + (e.key === "ArrowRight" ? 1 : MODES.length - 1)) % MODES.length;
      this.setMode(MODES[j][0]);
      this.modeButtons[j].focus();
    });
    on(this.speedSel, "change", () => {
      this.speed = Number(this.speedSel.value) || 1;
      this._remember();
      this._pulseSpeed();
    });
    on(this.root, "keydown", (e) => this._onKey(e));
    on(this.root, "pointerdown", (e) => {
      const t = e.target;
      if (t === this.root || (t.closest && !t.closest("button, input, select, [tabindex]"))) this.root.focus({ preventScroll: true });
    });
    this.resizeObserver = new ResizeObserver(() => this._layoutColumns());
    this.resizeObserver.observe(this.root);
    this.offscreen = new Set();
    this.visibility = new IntersectionObserver((entries) => this._onVisibility(entries), { rootMargin: "40px" });
  }

  _onKey(e) {
    const tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "SELECT") return; // the slider and the speed menu handle their own keys
    const onButton = tag === "BUTTON" || (e.target.getAttribute && e.target.getAttribute("role") === "button");
    let handled = true;
    switch (e.key) {
      case "ArrowLeft":
      case "ArrowDown":
        this.userStep(this.k - 1, SETTLE_MS);
        break;
      case "ArrowRight":
      case "ArrowUp":
        this.userStep(this.k + 1, SETTLE_MS);
        break;
      case "PageDown":
        this.userStep(this.k - 10, SETTLE_MS);
        break;
      case "PageUp":
        this.userStep(this.k + 10, SETTLE_MS);
        break;
      case "Home":
        this.userStep(0, SETTLE_MS);
        break;
      case "End":
        this.userStep(this.K - 1, SETTLE_MS);
        break;
      case " ":
        if (onButton) handled = false;
        else this.togglePlay(1);
        break;
      default:
        handled = false;
    }
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  }

  // ------------------------------------------------------------ payload
  update(raw, instanceKey) {
    let p;
    try {
      p = this._parse(raw);
    } catch (err) {
      this.grid.innerHTML = "";
      el("div", { class: "stp-error" }, this.grid, `Cannot show this payload: ${err.message}`);
      return;
    }
    const first = this.p === null;
    const mem = MEMORY.get(instanceKey);
    this.instanceKey = instanceKey;
    let t;
    let jumped = false;
    if (first) {
      if (mem) {
        this.mode = mem.mode;
        this.speed = mem.speed;
        this.lastReported = mem.lastReported;
      }
      if (mem && mem.token === p.step_token) t = mem.t;
      else {
        t = p.step;
        jumped = mem !== undefined;
      }
    } else if (p.step_token !== this.token) {
      t = p.step;
      jumped = true;
      this.stopPlay(false);
    } else {
      t = this.p.times[this.k];
    }
    this.token = p.step_token;
    const structure = JSON.stringify(p.cells.map((c) => [c.key, c.label, c.colour, c.dash, c.layout, c.paths.map((q) => [q.key, q.label, q.latex])]));
    const rebuild = first || structure !== this.structure || p.K !== this.p.K;
    this.p = p;
    this.K = p.K;
    this.k = _nearestIndex(p.times, Number.isFinite(t) ? t : p.times[0]);
    this.eqCache.clear();
    this.valueCache = this.valueCache || new Map();
    for (const view of this.cellViews || []) {
      delete view.eqForward.dataset.k;
      delete view.eqBackward.dataset.k;
      view.eqState = { f: { mode: null }, b: { mode: null } };
    }
    if (rebuild) {
      const hadFocus = this.host.activeElement === this.root;
      this.structure = structure;
      this._buildCells();
      if (hadFocus) this.root.focus({ preventScroll: true });
    }
    this._updateStatic();
    this.renderNow();
    this._remember();
    if (jumped) this.scheduleSettle(SETTLE_MS);
  }

  _parse(raw) {
    const d = typeof raw === "string" ? JSON.parse(raw) : raw;
    if (!d || typeof d !== "object") throw new Error("no payload");
    if (d.version !== 1) throw new Error(`unsupported payload version ${d.version}`);
    const times = (d.times || []).map(Number);
    const K = times.length;
    if (K === 0) throw new Error("times is empty");
    if (!Array.isArray(d.cells) || d.cells.length === 0) throw new Error("no cells");
    const factors = new Set(d.factor_slots || []);
    const cells = d.cells.map((c, ci) => {
      const fw = {};
      for (const [name, vals] of Object.entries(c.forward || {})) {
        fw[name] = { f: _float64(vals, K), raw: vals };
      }
      const b = c.backward || {};
      const grad = {};
      for (const [name, vals] of Object.entries(b.grad || {})) grad[name] = _float64(vals, K);
      const norm = {};
      for (const [name, vals] of Object.entries(b.log10_norm || {})) norm[name] = _float64(vals, K);
      const paths = (b.paths || []).map((q, qi) => ({ key: q.key, label: q.label || q.key, latex: q.latex || "", log10: _float64(q.log10, K), index: qi }));
      const eq = c.equations || {};
      return {
        index: ci,
        key: String(c.key ?? `cell${ci}`),
        label: c.label || c.key || `cell ${ci}`,
        colour: c.colour || "#555555",
        dash: c.dash || "solid",
        subtitle: c.subtitle || "",
        reverse: !!c.reverse,
        layout: c.layout || { nodes: [], edges: [] },
        forward: fw,
        grad,
        norm,
        paths,
        eq: { forward: _variants(eq.forward), backward: _variants(eq.backward), slots: eq.slots || {} },
      };
    });
    // shared scales
    const pathVals = [];
    const normVals = [];
    for (const c of cells) {
      for (const q of c.paths) for (const v of q.log10) if (Number.isFinite(v)) pathVals.push(v);
      for (const v of Object.values(c.norm)) for (const x of v) if (Number.isFinite(x)) normVals.push(x);
    }
    const range = (vals, decades, whole) => {
      if (vals.length === 0) return [-1, 0];
      let hi = -Infinity;
      let lo = Infinity;
      for (const v of vals) {
        if (v > hi) hi = v;
        if (v < lo) lo = v;
      }
      const clipped = lo < hi - decades;
      lo = Math.max(lo, hi - decades);
      if (hi - lo < 1) lo = hi - 1;
      const out = whole ? [Math.floor(lo), Math.ceil(hi)] : [lo, hi];
      out.clipped = clipped;
      return out;
    };
    return {
      T: Number(d.T) || K,
      times,
      K,
      note: d.note || "",
      step: Number(d.step ?? times[0]),
      step_token: d.step_token ?? null,
      unit_label: d.unit_label || "",
      play_ms: Math.max(10, Number(d.play_ms) || 350),
      factors,
      cells,
      pathRange: range(pathVals, EDGE_DECADES),
      normRange: range(normVals, STRIP_DECADES, true),
    };
  }

  _remember() {
    if (this.instanceKey === undefined || !this.p) return;
    MEMORY.set(this.instanceKey, {
      t: this.p.times[this.k],
      mode: this.mode,
      speed: this.speed,
      token: this.token,
      lastReported: this.lastReported,
    });
  }

  // ------------------------------------------------------------ per-payload DOM
  _buildCells() {
    const p = this.p;
    this.visibility.disconnect();
    this.offscreen.clear();
    this.grid.innerHTML = "";
    this.cellViews = p.cells.map((c) => this._buildCell(c));
    this._layoutColumns();
    this._buildLegend();
  }

  _buildCell(c) {
    const view = { cell: c, nodes: new Map(), edges: [], badges: {}, halos: {} };
    const sec = el("section", { class: "stp-cell", "data-cell": c.key, "aria-label": `${c.label}${c.subtitle ? `, ${c.subtitle}` : ""}` }, this.grid);
    sec.style.setProperty("--cell-colour", c.colour);
    view.section = sec;
    const head = el("div", { class: "stp-head" }, sec);
    const sw = sv("svg", { class: "stp-swatch", viewBox: "0 0 28 10", "aria-hidden": "true" }, head);
    sv("line", { x1: "1", y1: "5", x2: "27", y2: "5", stroke: c.colour, "stroke-width": "3", "stroke-dasharray": CELL_DASHES[c.dash] ?? "" }, sw);
    el("span", { class: "stp-title" }, head, c.label);
    el("span", { class: "stp-sub" }, head, c.subtitle);

    // ---- diagram
    const svg = sv("svg", { class: "stp-diagram", viewBox: `${VIEW.x} ${VIEW.y} ${VIEW.w} ${VIEW.h}`, role: "img", "aria-label": `${c.label} cell diagram` }, sec);
    view.svg = svg;
    const gEdges = sv("g", { class: "stp-edges" }, svg);
    const gHalo = sv("g", { class: "stp-halos" }, svg);
    const gNodes = sv("g", { class: "stp-nodes" }, svg);
    const gBadges = sv("g", { class: "stp-badges" }, svg);
    const geo = new Map();
    for (const n of c.layout.nodes || []) {
      const cx = Number(n.x) * U;
      const cy = (6 - Number(n.y)) * U;
      const op = n.kind === "op";
      const label = String(n.label ?? n.key);
      const w = op ? Math.min(190, Math.max(112, _estimateWidth(label, 44) + 24, 130)) : 130;
      const h = 96;
      geo.set(n.key, { cx, cy, w, h, n });
    }
    view.geo = geo;
    const paths = new Map(c.paths.map((q) => [q.key, q]));
    for (const e of c.layout.edges || []) {
      const a = geo.get(e.from);
      const b = geo.get(e.to);
      if (!a || !b) continue;
      const [x1, y1, x2, y2] = _clipSegment(a, b);
      const path = e.path ? paths.get(e.path) : undefined;
      const g = sv("g", { class: "stp-edge", "data-from": e.from, "data-to": e.to, "data-path": e.path || "" }, gEdges);
      const pos = { x1, y1, x2, y2 };
      const edge = { e, g, path };
      if (path) {
        edge.glow = sv("line", { class: "glow", ...pos, stroke: c.colour, "stroke-opacity": "0" }, g);
        edge.line = sv("line", { class: "path", ...pos, stroke: c.colour, "stroke-dasharray": PATH_DASHES[path.index % PATH_DASHES.length] || null }, g);
      }
      edge.base = sv("line", { class: "base", ...pos, "stroke-width": "4", "marker-end": "url(#stp-arrow)", "stroke-dasharray": path ? PATH_DASHES[path.index % PATH_DASHES.length] || null : null }, g);
      if (path) edge.pulse = sv("line", { class: "pulse", ...pos, "stroke-dasharray": "16 104", "stroke-opacity": "0" }, g);
      view.edges.push(edge);
    }
    for (const [key, gm] of geo) {
      const n = gm.n;
      const kind = n.kind || "op";
      const clampable = n.clampable === true;
      const g = sv("g", { class: `stp-node ${kind}${clampable ? " clampable" : ""}`, "data-node": key, transform: `translate(${gm.cx} ${gm.cy})` }, gNodes);
      const rect = sv("rect", { x: -gm.w / 2, y: -gm.h / 2, width: gm.w, height: gm.h, rx: kind === "op" ? 44 : 14 }, g);
      const lbl = sv("text", { class: "lbl", x: "0", y: "-6", "text-anchor": "middle" }, g);
      sv("tspan", null, lbl, String(n.label ?? key));
      if (n.sub) sv("tspan", { class: "s", dy: "10" }, lbl, String(n.sub));
      const val = sv("text", { class: "val", x: "0", y: "36", "text-anchor": "middle" }, g);
      const title = sv("title", null, g);
      const nodeView = { g, rect, lbl, val, title, n, kind, gm, values: c.forward[key] };
      if (clampable) {
        g.setAttribute("tabindex", "0");
        g.setAttribute("role", "button");
        const fire = () => this._clamp(c, key, nodeView);
        g.addEventListener("click", fire);
        g.addEventListener("keydown", (e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            e.stopPropagation();
            fire();
          }
        });
        g.addEventListener("pointerenter", () => this._hint(view, nodeView));
        g.addEventListener("focus", () => this._hint(view, nodeView));
        g.addEventListener("pointerleave", () => this._hint(view, null));
        g.addEventListener("blur", () => this._hint(view, null));
      }
      view.nodes.set(key, nodeView);
    }
    // gradient badges and halos at the state nodes h_t (δh_t) and c_t (δc_t)
    for (const name of ["h", "c"]) {
      const gm = geo.get(name);
      if (!gm || !c.grad[name]) continue;
      const halo = sv("rect", { class: "stp-halo", x: gm.cx - gm.w / 2 - 16, y: gm.cy - gm.h / 2 - 16, width: gm.w + 32, height: gm.h + 32, rx: 30, fill: c.colour, opacity: "0" }, gHalo);
      view.halos[name] = halo;
      const above = gm.cy < 300;
      const by = above ? gm.cy - gm.h / 2 - 30 : gm.cy + gm.h / 2 + 48;
      const right = Math.min(VIEW.x + VIEW.w - 6, gm.cx + gm.w / 2);
      const g = sv("g", { class: "stp-badge", "data-grad": name }, gBadges);
      const rect = sv("rect", { x: right - 10, y: by - 36, width: 10, height: 48, rx: 8, stroke: c.colour }, g);
      const text = sv("text", { x: right - 12, y: by, "text-anchor": "end" }, g);
      view.badges[name] = { g, rect, text, right };
    }
    const hint = el("div", { class: "stp-hint", "aria-live": "polite" }, sec);
    view.hint = hint;

    // ---- gradients and paths
    view.grads = el("div", { class: "stp-grads" }, sec);
    const pathsBox = el("div", { class: "stp-paths" }, sec);
    view.pathRows = c.paths.map((q) => {
      const row = el("div", { class: "stp-path", "data-path": q.key }, pathsBox);
      const s = sv("svg", { viewBox: "0 0 30 12", "aria-hidden": "true" }, row);
      sv("line", { x1: "1", y1: "6", x2: "29", y2: "6", stroke: c.colour, "stroke-width": "3", "stroke-dasharray": (PATH_DASHES[q.index % PATH_DASHES.length] || "").replace(/\d+/g, (m) => String(Math.max(2, Math.round(Number(m) / 4)))) }, s);
      const label = el("span", { class: "pl" }, row);
      label.appendChild(document.createTextNode(`${q.label} `));
      if (q.latex) {
        const m = el("span", { class: "m" }, label);
        m.innerHTML = katex.renderToString(q.latex, { throwOnError: false, strict: "ignore" });
      }
      const value = el("span", { class: "pv" }, row);
      return { row, value, q };
    });

    // ---- ‖δh_t‖ strip
    view.strip = this._buildStrip(c, sec);

    // ---- equations
    const eq = el("div", { class: "stp-eq" }, sec);
    // head and equations of a block in one wrapper: the visibility of the pair decides when to draw
    const wf = el("div", { class: "eqwrap" }, eq);
    view.eqForwardHead = el("h4", null, wf, "Forward");
    view.eqForward = el("div", { class: "eqbox eqf", role: "img" }, wf);
    const wb = el("div", { class: "eqwrap" }, eq);
    view.eqBackwardHead = el("h4", null, wb, "Backward");
    view.eqBackward = el("div", { class: "eqbox eqb", role: "img" }, wb);
    view.eqState = { f: { mode: null }, b: { mode: null } };
    this.visibility.observe(wf);
    this.visibility.observe(wb);
    return view;
  }

  _buildStrip(c, sec) {
    const p = this.p;
    const norm = c.norm.h;
    const box = el("div", { class: "stp-strip", tabindex: "0", role: "slider", "aria-label": `${c.label}: norm of the gradient δh_t over t (log scale); click or drag to move the step`, "aria-valuemin": String(p.times[0]), "aria-valuemax": String(p.times[p.K - 1]) }, sec);
    const [lo, hi] = p.normRange;
    const svg = sv("svg", { viewBox: "0 0 1000 100", preserveAspectRatio: "none", "aria-hidden": "true" }, box);
    const t0 = p.times[0];
    const span = Math.max(1, p.times[p.K - 1] - t0);
    const xOf = (t) => ((t - t0) / span) * 1000;
    const yOf = (v) => 100 - ((Math.max(lo, Math.min(hi, v)) - lo) / (hi - lo)) * 100;
    if (norm) {
      let d = "";
      let pen = false;
      for (let k = 0; k < p.K; k++) {
        const v = norm[k];
        if (!Number.isFinite(v)) {
          pen = false;
          continue;
        }
        d += `${pen ? "L" : "M"}${xOf(p.times[k]).toFixed(2)} ${yOf(v).toFixed(2)}`;
        pen = true;
      }
      sv("path", { d, fill: "none", stroke: c.colour, "stroke-width": "2", "vector-effect": "non-scaling-stroke", "stroke-dasharray": CELL_DASHES[c.dash] ?? "" }, svg);
    }
    // The cursor is its own layer: moving it repaints nothing of the (long) line under it.
    const cursor = el("div", { class: "stp-cursor", "aria-hidden": "true" }, box);
    el("span", { class: "ax", style: "top:2px" }, box, `10${_sup(hi)}`);
    el("span", { class: "ax", style: "bottom:14px" }, box, `${p.normRange.clipped ? "≤" : ""}10${_sup(lo)}`);
    el("span", { class: "xl" }, box, `t = ${_fmtInt(p.times[0])}`);
    el("span", { class: "cap" }, box, `‖δh_t‖ · t = ${_fmtInt(p.times[p.K - 1])}`);
    const pick = (e) => {
      const r = svg.getBoundingClientRect();
      const f = Math.min(1, Math.max(0, (e.clientX - r.left) / Math.max(1, r.width)));
      return _nearestIndex(p.times, t0 + f * span);
    };
    box.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      box.focus({ preventScroll: true });
      box.setPointerCapture(e.pointerId);
      this.dragging = box;
      this.dragged = false;
      this._cancelSettle();
      this.stopPlay(false);
      this.setK(pick(e));
    });
    box.addEventListener("pointermove", (e) => {
      if (this.dragging !== box || !box.hasPointerCapture(e.pointerId)) return;
      const k = pick(e);
      if (k !== this.k) this.dragged = true;
      this.setK(k);
    });
    const end = (e) => {
      if (this.dragging !== box) return;
      this.dragging = null;
      if (box.hasPointerCapture(e.pointerId)) box.releasePointerCapture(e.pointerId);
      this.scheduleSettle(this.dragged ? 0 : SETTLE_MS); // a drag settles on release, a click like a click
    };
    box.addEventListener("pointerup", end);
    box.addEventListener("pointercancel", end);
    return { box, svg, cursor, xOf, yOf, norm };
  }

  _buildLegend() {
    const p = this.p;
    this.legend.innerHTML = "";
    const a = el("span", null, this.legend);
    a.append("σ gates 0");
    el("span", { class: "ramp", style: `background:${_gradientCss(CIVIDIS)}` }, a);
    a.append("1");
    const b = el("span", null, this.legend);
    b.append("tanh values and states −1");
    el("span", { class: "ramp", style: `background:${_gradientCss(DIVERGING)}` }, b);
    b.append("1 (clipped)");
    const [lo, hi] = p.pathRange;
    el("span", null, this.legend, `Backward paths: width and opacity ∝ log₁₀ of what each path carries, shared by all cells, 10${_sup(Math.floor(lo))} (thinnest) to 10${_sup(Math.ceil(hi))}; dashes tell the paths apart.`);
  }

  _updateStatic() {
    const p = this.p;
    this.slider.max = String(p.K - 1);
    this.ofLabel.textContent = p.K === p.T && p.times[0] === 0 ? `of 0–${_fmtInt(p.T - 1)}` : `(${_fmtInt(p.K)} positions, T = ${_fmtInt(p.T)})`;
    this.unitLabel.textContent = p.unit_label;
    this.note.textContent = p.note;
    this.note.hidden = !p.note;
    this.speedSel.value = String(this.speed);
    this._syncModeButtons();
    this._syncPlayButtons();
    this._pulseSpeed();
  }

  _layoutColumns() {
    if (!this.p) return;
    const n = this.p.cells.length;
    const width = this.root.clientWidth || this.host.host?.clientWidth || 800;
    const fit = Math.max(1, Math.floor((width + 10) / (MIN_CELL_PX + 10)));
    let cols = Math.min(n, fit);
    const rows = Math.ceil(n / cols);
    cols = Math.ceil(n / rows);
    if (String(cols) !== this.root.style.getPropertyValue("--stp-cols")) this.root.style.setProperty("--stp-cols", String(cols));
  }

  // ------------------------------------------------------------ state changes
  // A step chosen by the user: a pending report waits until the user settles again.
  setK(k) {
    if (!this.p) return;
    this._cancelSettle();
    const nk = Math.max(0, Math.min(this.K - 1, Math.round(k)));
    if (nk === this.k && !this.dirty) return;
    this.k = nk;
    this.requestRender();
  }

  userStep(k, settleMs) {
    this.stopPlay(false);
    this.setK(k);
    this.scheduleSettle(settleMs);
  }

  setMode(m) {
    if (!MODES.some(([x]) => x === m)) return;
    this.mode = m;
    this._syncModeButtons();
    this._remember();
    this.requestRender();
  }

  _syncModeButtons() {
    for (const b of this.modeButtons) {
      const on = b.dataset.mode === this.mode;
      b.setAttribute("aria-checked", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
    }
    this.root.dataset.mode = this.mode;
  }

  _syncPlayButtons() {
    const f = this.playing === 1;
    const b = this.playing === -1;
    this.btnFwd.innerHTML = f ? `${icon("pause")}<span>Pause</span>` : `${icon("play")}<span>Play</span>`;
    this.btnFwd.setAttribute("aria-pressed", f ? "true" : "false");
    this.btnFwd.setAttribute("aria-label", f ? "Pause" : "Play forward");
    this.btnBack.innerHTML = b ? `${icon("pause")}<span>Pause</span>` : `${icon("back")}<span>Play backward</span>`;
    this.btnBack.setAttribute("aria-pressed", b ? "true" : "false");
    this.btnBack.setAttribute("aria-label", b ? "Pause" : "Play backward: the gradient from the last step back to the first");
    this.root.dataset.playing = f ? "forward" : b ? "backward" : "";
    this.root.classList.toggle("stp-playing-back", b);
  }

  _pulseSpeed() {
    const interval = (this.p ? this.p.play_ms : 350) / this.speed;
    this.root.style.setProperty("--stp-pulse", `${Math.max(0.25, Math.min(2.5, (interval * 3) / 1000)).toFixed(2)}s`);
  }

  togglePlay(dir) {
    if (this.playing === dir) {
      this.stopPlay(true);
      return;
    }
    this.stopPlay(false);
    if (dir === 1 && this.k >= this.K - 1) this.k = 0;
    if (dir === -1 && this.k <= 0) this.k = this.K - 1;
    if (dir === -1 && this.mode === "forward") this.setMode("backward"); // the gradient's journey
    this.playing = dir;
    this._cancelSettle();
    this._syncPlayButtons();
    this.lastAdvance = performance.now();
    this.requestRender();
    this._tick();
  }

  stopPlay(settle) {
    if (!this.playing) return;
    this.playing = 0;
    cancelAnimationFrame(this.playRaf);
    this.playRaf = 0;
    this._syncPlayButtons();
    this.requestRender();
    if (settle) this.scheduleSettle(0);
  }

  _tick() {
    this.playRaf = requestAnimationFrame((now) => {
      if (!this.playing) return;
      const interval = this.p.play_ms / this.speed;
      const n = Math.floor((now - this.lastAdvance) / interval);
      if (n >= 1) {
        this.lastAdvance += n * interval;
        this.k = Math.max(0, Math.min(this.K - 1, this.k + this.playing * n));
        this._draw(); // one frame: slider, label, diagrams, strips and equations together
        if ((this.playing === 1 && this.k === this.K - 1) || (this.playing === -1 && this.k === 0)) {
          this.stopPlay(true);
          return;
        }
      }
      this._tick();
    });
  }

  scheduleSettle(ms) {
    this._cancelSettle();
    if (this.playing) return;
    this.settleTimer = setTimeout(() => this._settle(), ms);
  }

  _cancelSettle() {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = 0;
  }

  _settle() {
    this.settleTimer = 0;
    if (this.playing || !this.p) return;
    this._scheduleFlush();
    const t = this.p.times[this.k];
    this._remember();
    if (t === this.lastReported) return;
    this.lastReported = t;
    this._remember();
    this.root.dataset.reported = String(t);
    this.root.dataset.reports = String(Number(this.root.dataset.reports || 0) + 1);
    this.api.setStateValue("step", t);
  }

  _clamp(c, nodeKey, nodeView) {
    const t = this.p.times[this.k];
    const request = { cell: c.key, node: nodeKey, step: t };
    const view = this.cellViews[c.index];
    view.hint.textContent = `Clamp request sent: ${nodeView.n.label} at t = ${_fmtInt(t)}.`;
    this.root.dataset.clamp = JSON.stringify(request);
    this.api.setTriggerValue("clamp", request);
  }

  _hint(view, nodeView) {
    if (!nodeView) {
      view.hint.textContent = "";
      return;
    }
    const t = this.p.times[this.k];
    view.hint.textContent = `Click to clamp ${nodeView.n.label}${nodeView.n.sub ? `_${nodeView.n.sub}` : ""} at t = ${_fmtInt(t)} (what-if lab).`;
  }

  // ------------------------------------------------------------ drawing
  requestRender() {
    this.dirty = true;
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      this._draw();
    });
  }

  renderNow() {
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
    this._draw();
  }

  _draw() {
    const p = this.p;
    if (!p || !this.cellViews) return;
    const started = performance.now();
    this.dirty = false;
    const k = this.k;
    const t = p.times[k];
    this.slider.value = String(k);
    this.slider.setAttribute("aria-valuetext", `t = ${t}`);
    this.tLabel.textContent = `t = ${_fmtInt(t)}`;
    const showF = this.mode !== "backward";
    const showB = this.mode !== "forward";
    for (const view of this.cellViews) this._drawCell(view, k, t, showF, showB);
    this.root.dataset.drawMs = (performance.now() - started).toFixed(1);
    this.root.dataset.step = String(t);
    this.root.dataset.k = String(k);
    this.frames += 1;
    this._remember();
    this._prefetch();
  }

  _drawCell(view, k, t, showF, showB) {
    const c = view.cell;
    const p = this.p;
    const [plo, phi] = p.pathRange;
    const [nlo, nhi] = p.normRange;
    view.svg.classList.toggle("stp-dim", !showF);
    // nodes
    for (const nv of view.nodes.values()) {
      const kind = nv.kind;
      const plain = kind === "op" || kind === "input"; // neutral boxes; a null value prints nothing
      const raw = nv.values ? nv.values.raw[k] : undefined;
      const missing = raw === null || raw === undefined;
      const v = nv.values ? nv.values.f[k] : NaN;
      let s = "";
      if (nv.values && !(plain && missing)) s = missing ? "—" : formatDiagram(v);
      const notFinite = !plain && !!nv.values && (missing || Number.isNaN(v));
      const fill = showF && !plain && !notFinite ? nodeColour(kind, v) : null;
      nv.g.classList.toggle("nan", showF && notFinite);
      if (!plain) setA(nv.rect, "fill", fill ? _css(fill) : "#ffffff");
      const txt = fill && _luminance(fill) < 0.28 ? "#ffffff" : "#1f2029";
      setA(nv.lbl, "fill", txt);
      setA(nv.val, "fill", txt);
      if (nv.val.textContent !== s) {
        nv.val.textContent = s;
        const room = nv.gm.w - 12;
        if (_estimateWidth(s, 42) > room) {
          setA(nv.val, "textLength", String(room));
          setA(nv.val, "lengthAdjust", "spacingAndGlyphs");
        } else {
          nv.val.removeAttribute("textLength");
          nv.val.removeAttribute("lengthAdjust");
        }
      }
      const label = `${nv.n.label}${nv.n.sub ? `_${nv.n.sub}` : ""}`;
      setText(nv.title, `${label} at t = ${t}: ${s || "no value"}${nv.n.clampable ? " · click to clamp (what-if lab)" : ""}`);
      if (nv.n.clampable) setA(nv.g, "aria-label", `Clamp ${label} of ${c.label} at t = ${t} (value ${s || "none"})`);
    }
    // edges
    for (const ed of view.edges) {
      if (!ed.path) continue;
      const L = ed.path.log10[k];
      const finite = Number.isFinite(L);
      const s = finite ? Math.max(0, Math.min(1, (L - plo) / (phi - plo))) : 0;
      ed.g.classList.toggle("zero", showB && !finite);
      if (showB) {
        const w = finite ? 6 + 40 * s : 4;
        setA(ed.line, "stroke-width", w.toFixed(1));
        setA(ed.line, "stroke-opacity", finite ? (0.3 + 0.7 * s).toFixed(3) : "0.5");
        setA(ed.glow, "stroke-width", (w * 2.4 + 10).toFixed(1));
        setA(ed.glow, "stroke-opacity", finite ? (0.28 * s * s).toFixed(3) : "0");
        const pulsing = this.playing === -1 && finite && s > 0.05;
        setA(ed.pulse, "stroke-width", Math.max(3, w * 0.55).toFixed(1));
        setA(ed.pulse, "stroke-opacity", pulsing ? (0.25 + 0.65 * s).toFixed(3) : "0");
        ed.pulse.style.animationPlayState = pulsing ? "running" : "paused";
        ed.g.dataset.width = w.toFixed(1);
      } else {
        setA(ed.line, "stroke-width", "0");
        setA(ed.line, "stroke-opacity", "0");
        setA(ed.glow, "stroke-opacity", "0");
        setA(ed.pulse, "stroke-opacity", "0");
        ed.pulse.style.animationPlayState = "paused";
        ed.g.dataset.width = "0";
      }
      setA(ed.base, "stroke-opacity", showB ? "0.55" : "1");
    }
    // gradient badges and halos
    for (const name of ["h", "c"]) {
      const badge = view.badges[name];
      if (!badge) continue;
      const halo = view.halos[name];
      if (!showB) {
        setA(badge.g, "visibility", "hidden");
        setA(halo, "opacity", "0");
        continue;
      }
      setA(badge.g, "visibility", "visible");
      const g = c.grad[name][k];
      const text = `δ${name} = ${formatMagnitude(g)}`;
      if (badge.text.textContent !== text) {
        badge.text.textContent = text;
        const w = _estimateWidth(text, 42) + 24;
        setA(badge.rect, "x", String(badge.right - w));
        setA(badge.rect, "width", String(w));
      }
      const L = c.norm[name] ? c.norm[name][k] : NaN;
      const s = Number.isFinite(L) ? Math.max(0, Math.min(1, (L - nlo) / (nhi - nlo))) : 0;
      setA(halo, "opacity", (0.08 + 0.62 * s).toFixed(3));
    }
    // gradient line and path values
    if (showB) {
      const parts = [];
      for (const name of Object.keys(c.grad)) {
        const n = c.norm[name] ? c.norm[name][k] : NaN;
        parts.push(`δ${name}_t = ${formatMagnitude(c.grad[name][k])}`, `‖δ${name}_t‖ = ${formatLog10(n)}`);
      }
      const s = parts.join(" · ");
      if (view.grads.textContent !== s) view.grads.textContent = s;
    }
    view.grads.hidden = !showB;
    for (const row of view.pathRows) {
      const s = formatLog10(row.q.log10[k]);
      if (row.value.textContent !== s) row.value.textContent = s;
      row.row.hidden = !showB;
    }
    // strip cursor
    const st = view.strip;
    const f = (st.xOf(t) / 1000).toFixed(5);
    if (st.cursor.dataset.x !== f) {
      st.cursor.dataset.x = f;
      st.cursor.style.left = `calc(44px + (100% - 48px) * ${f})`;
    }
    setA(st.box, "aria-valuenow", String(t));
    setA(st.box, "aria-valuetext", `t = ${t}, ‖δh_t‖ = ${st.norm ? formatLog10(st.norm[k]) : "n/a"}`);
    // equations
    this._showEq(view, "f", showF, k);
    this._showEq(view, "b", showB, k);
  }

  // Equations: the blocks on screen are drawn with the step; blocks scrolled out of view are
  // filled as soon as they scroll into view, or in idle time once the user settles.
  _showEq(view, block, shown, k) {
    const box = block === "f" ? view.eqForward : view.eqBackward;
    const head = block === "f" ? view.eqForwardHead : view.eqBackwardHead;
    const lines = _lines(view.cell, block, k);
    const visible = shown && lines.length > 0;
    box.hidden = !visible;
    head.hidden = !visible;
    if (!visible) return;
    if (this.offscreen.has(box.parentElement)) {
      box.dataset.pending = "1"; // filled when it scrolls into view, or once the user settles
      if (!this.playing && !this.settleTimer && !this.dragging) this._scheduleFlush();
      return;
    }
    this._fillEq(view, block, k);
  }

  // A block is rendered by KaTeX once, with every number marked (\htmlData); later steps replace
  // only the numbers' own nodes, so a step restyles a few dozen nodes instead of the whole block.
  // Should the marked render differ in its text from the plain one, the block is re-rendered whole
  // at every step instead. data-tex always holds the plain TeX of the step (Python's string).
  _fillEq(view, block, k) {
    const box = block === "f" ? view.eqForward : view.eqBackward;
    const head = block === "f" ? view.eqForwardHead : view.eqBackwardHead;
    delete box.dataset.pending;
    if (box.dataset.k === String(k)) return;
    const c = view.cell;
    const { tex, texts } = this._eqTexts(c, block, k);
    const st = view.eqState[block];
    const variant = _variantAt(c, block, k);
    if (st.variant !== variant) {
      st.variant = variant; // other lines at this step (a clamp, the last step): render anew
      st.mode = undefined;
    }
    if (st.mode === "patch") this._patchEq(st, texts);
    else if (st.mode === "full") box.innerHTML = this._eqFull(c, block, k, tex);
    else this._firstEq(view, block, k, tex, texts);
    box.dataset.tex = tex;
    box.setAttribute("aria-label", tex);
    box.dataset.k = String(k);
    box.dataset.step = String(this.p.times[k]);
    box.dataset.mode = st.mode;
    head.textContent = `${block === "f" ? "Forward" : "Backward"} at t = ${_fmtInt(this.p.times[k])}`;
  }

  _ctx(c, k) {
    const t = this.p.times[k];
    return { t, tp: c.reverse ? t + 1 : t - 1, tn: c.reverse ? t - 1 : t + 1, factors: this.p.factors };
  }

  // The plain TeX of a block at step k and the text of every number in it, in order.
  _eqTexts(c, block, k) {
    const ctx = this._ctx(c, k);
    const texts = [];
    const lines = _lines(c, block, k).map((line) =>
      fillTemplate(line, c.eq.slots, k, ctx, (name, text) => {
        texts.push(text);
        return text;
      }),
    );
    return { tex: alignedBlock(lines), texts };
  }

  _firstEq(view, block, k, tex, texts) {
    const c = view.cell;
    const box = block === "f" ? view.eqForward : view.eqBackward;
    const st = view.eqState[block];
    const ctx = this._ctx(c, k);
    let i = 0;
    const marked = alignedBlock(
      _lines(c, block, k).map((line) =>
        fillTemplate(line, c.eq.slots, k, ctx, (name, text) => `\\htmlData{stp=${i++}}{${text}}`),
      ),
    );
    const plain = this._eqFull(c, block, k, tex);
    box.innerHTML = katex.renderToString(marked, KATEX_MARKED);
    const wrappers = [...box.querySelectorAll("[data-stp]")];
    const probe = document.createElement("template");
    probe.innerHTML = plain;
    if (wrappers.length !== texts.length || box.textContent !== probe.content.textContent || plain.includes("katex-error")) {
      st.mode = "full";
      box.innerHTML = plain;
      return;
    }
    st.mode = "patch";
    st.wrappers = wrappers.sort((a, b) => Number(a.dataset.stp) - Number(b.dataset.stp));
    st.tails = st.wrappers.map((w) => (w.lastElementChild && w.lastElementChild.classList.contains("mspace") ? w.lastElementChild : null));
    st.shown = texts.slice();
  }

  _patchEq(st, texts) {
    for (let i = 0; i < texts.length; i++) {
      if (st.shown[i] === texts[i]) continue;
      const nodes = this._valueNodes(texts[i]);
      if (st.tails[i]) st.wrappers[i].replaceChildren(nodes, st.tails[i]);
      else st.wrappers[i].replaceChildren(nodes);
      st.shown[i] = texts[i];
    }
  }

  // A number's KaTeX nodes (display style, as in the aligned block), from a per-text cache.
  _valueNodes(text) {
    let tpl = this.valueCache.get(text);
    if (!tpl) {
      tpl = document.createElement("template");
      const holder = document.createElement("template");
      holder.innerHTML = katex.renderToString(`\\htmlData{stp=v}{${text}}`, KATEX_MARKED);
      const wrapper = holder.content.querySelector("[data-stp]");
      tpl.innerHTML = wrapper ? wrapper.innerHTML : "";
      this.valueCache.set(text, tpl);
      if (this.valueCache.size > 5000) this.valueCache.delete(this.valueCache.keys().next().value);
    }
    return tpl.content.cloneNode(true);
  }

  // The whole block rendered from the plain TeX (the fallback, and the reference for the check).
  _eqFull(c, block, k, tex) {
    const key = `${c.index}|${block}|${k}`;
    let html = this.eqCache.get(key);
    if (html !== undefined) {
      this.eqCache.delete(key);
      this.eqCache.set(key, html);
      return html;
    }
    html = katex.renderToString(tex, KATEX_PLAIN);
    this.eqCache.set(key, html);
    if (this.eqCache.size > 300) this.eqCache.delete(this.eqCache.keys().next().value);
    return html;
  }

  _scheduleFlush() {
    if (this.flushHandle) return;
    const idle = window.requestIdleCallback || ((fn) => setTimeout(() => fn({ timeRemaining: () => 8 }), 50));
    this.flushHandle = idle(
      (deadline) => {
        this.flushHandle = 0;
        if (!this.cellViews) return;
        for (const view of this.cellViews) {
          for (const block of ["f", "b"]) {
            const box = block === "f" ? view.eqForward : view.eqBackward;
            if (!box.dataset.pending || box.hidden) continue;
            if (deadline.timeRemaining() < 2 && !deadline.didTimeout) {
              this._scheduleFlush();
              return;
            }
            this._fillEq(view, block, this.k);
          }
        }
      },
      { timeout: 1000 },
    );
  }

  _onVisibility(entries) {
    let wake = false;
    for (const e of entries) {
      if (e.isIntersecting) {
        this.offscreen.delete(e.target);
        if (e.target.querySelector(".eqbox[data-pending]")) wake = true;
      } else this.offscreen.add(e.target);
    }
    if (wake) this.requestRender();
  }

  // In idle time, prepare the numbers (or whole blocks) of the next steps.
  _prefetch() {
    if (this.idleHandle) return;
    const run = window.requestIdleCallback || ((fn) => setTimeout(() => fn({ timeRemaining: () => 8 }), 40));
    this.idleHandle = run((deadline) => {
      this.idleHandle = 0;
      if (!this.p || !this.cellViews) return;
      const until = performance.now() + 4; // short slices: a click never waits long behind this
      const dirs = this.playing ? [this.playing, 2 * this.playing, 3 * this.playing] : [1, -1, 2, -2];
      const blocks = [];
      if (this.mode !== "backward") blocks.push("f");
      if (this.mode !== "forward") blocks.push("b");
      for (const d of dirs) {
        const k = this.k + d;
        if (k < 0 || k >= this.K) continue;
        for (const view of this.cellViews) {
          for (const b of blocks) {
            if (deadline.timeRemaining() < 3 || performance.now() > until) {
              this._prefetch();
              return;
            }
            const st = view.eqState[b];
            const { tex, texts } = this._eqTexts(view.cell, b, k);
            if (st.mode === "full") this._eqFull(view.cell, b, k, tex);
            else for (const text of texts) if (!this.valueCache.has(text)) this._valueNodes(text);
          }
        }
      }
    });
  }

  destroy() {
    this._cancelSettle();
    const cancelIdle = window.cancelIdleCallback || clearTimeout;
    if (this.idleHandle) cancelIdle(this.idleHandle);
    if (this.flushHandle) cancelIdle(this.flushHandle);
    this.idleHandle = 0;
    this.flushHandle = 0;
    this.stopPlay(false);
    if (this.raf) cancelAnimationFrame(this.raf);
    if (this.resizeObserver) this.resizeObserver.disconnect();
    if (this.visibility) this.visibility.disconnect();
    if (this.root.parentNode) this.root.parentNode.removeChild(this.root);
    INSTANCES.delete(this.host);
  }
}

function _sup(n) {
  const map = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  return String(n)
    .split("")
    .map((ch) => map[ch] || ch)
    .join("");
}

// The segment between two nodes' centres, cut at both boxes' borders (plus a small gap).
function _clipSegment(a, b) {
  const dx = b.cx - a.cx;
  const dy = b.cy - a.cy;
  const len = Math.hypot(dx, dy) || 1;
  const cut = (g) => {
    const tx = dx === 0 ? Infinity : g.w / 2 / Math.abs(dx);
    const ty = dy === 0 ? Infinity : g.h / 2 / Math.abs(dy);
    return Math.min(tx, ty) + 8 / len;
  };
  const s = Math.min(0.45, cut(a));
  const e = Math.max(0.55, 1 - cut(b));
  return [a.cx + dx * s, a.cy + dy * s, a.cx + dx * e, a.cy + dy * e].map((v) => v.toFixed(1));
}

export default function stepperComponent(component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  ensureFonts();
  let wrapped = data;
  if (typeof wrapped === "string") wrapped = JSON.parse(wrapped);
  const instanceKey = wrapped && wrapped.key !== undefined ? String(wrapped.key) : undefined;
  const payload = wrapped && wrapped.payload !== undefined ? wrapped.payload : wrapped;
  let inst = INSTANCES.get(parentElement);
  if (!inst) {
    inst = new Stepper(parentElement, { setStateValue, setTriggerValue });
    INSTANCES.set(parentElement, inst);
  } else {
    inst.api = { setStateValue, setTriggerValue };
  }
  inst.update(payload, instanceKey);
  return () => inst.destroy();
}
