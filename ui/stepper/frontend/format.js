// lstmviz stepper: number formatting and equation templates (pure functions, no DOM).
//
// The rules are those of ui.stepper.format_number / fill_template in Python (see that module's
// docstring); tests/test_stepper.py runs this file with node and compares both on a few hundred
// numbers and templates. Python's format(v, ".4g") is the reference: correct rounding of the exact
// binary value, ties to even. JavaScript's toPrecision/toExponential round ties away from zero, so the
// digits here come from the exact decimal expansion of the double (a BigInt), rounded half-even.

/* exported toNumber, roundSig, formatNumber, formatDiagram, formatMagnitude, fillTemplate,
   alignedBlock, firstTopLevelEquals */

// A payload number: numbers as they are; null, "NaN" -> NaN; "Infinity"/"-Infinity" -> ±Infinity.
function toNumber(v) {
  if (typeof v === "number") return v;
  if (v === null || v === undefined) return NaN;
  if (v === "Infinity" || v === "inf" || v === "+Infinity") return Infinity;
  if (v === "-Infinity" || v === "-inf") return -Infinity;
  if (typeof v === "string" && v.trim() !== "" && v !== "NaN") {
    const n = Number(v);
    return Number.isNaN(n) ? NaN : n;
  }
  return NaN;
}

const _VIEW = new DataView(new ArrayBuffer(8));

// The exact decimal expansion of a finite double x > 0: [digits, k] with x = digits × 10^k.
function exactDecimal(x) {
  _VIEW.setFloat64(0, x);
  const hi = _VIEW.getUint32(0);
  const lo = _VIEW.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2;
  if (biased === 0) {
    e2 = -1074;
  } else {
    mant |= 1n << 52n;
    e2 = biased - 1075;
  }
  if (e2 >= 0) return [(mant << BigInt(e2)).toString(), 0];
  // mant × 2^e2 = mant × 5^(−e2) / 10^(−e2)
  return [(mant * 5n ** BigInt(-e2)).toString(), e2];
}

// Round a finite, non-zero x to p significant digits, ties to even, on the exact binary value.
// Returns {neg, digits (a string of exactly p digits), exp (the exponent of the first digit)}.
function roundSig(x, p) {
  const neg = x < 0;
  const [all, k] = exactDecimal(Math.abs(x));
  let exp = all.length - 1 + k;
  let head = all.slice(0, p).padEnd(p, "0");
  const rest = all.slice(p);
  let up = false;
  if (rest.length > 0) {
    const first = rest.charCodeAt(0) - 48;
    if (first > 5) up = true;
    else if (first === 5) {
      up = /[1-9]/.test(rest.slice(1)) || (head.charCodeAt(p - 1) - 48) % 2 === 1;
    }
  }
  if (up) {
    let bumped = (BigInt(head) + 1n).toString();
    if (bumped.length > p) {
      bumped = bumped.slice(0, p);
      exp += 1;
    }
    head = bumped;
  }
  return { neg, digits: head, exp };
}

function _stripZeros(s) {
  const t = s.replace(/0+$/, "");
  return t;
}

// Python's format(x, f".{p}g") split into parts: {neg, fixed: string|null, mant, exp}.
// fixed is set when −4 ≤ exp < p (Python's rule); otherwise mant × 10^exp.
function _gParts(x, p, lowExp) {
  const r = roundSig(x, p);
  const low = lowExp === undefined ? -4 : lowExp;
  if (r.exp >= low && r.exp < p) {
    let s;
    if (r.exp >= 0) {
      const ip = r.digits.slice(0, r.exp + 1);
      const fp = _stripZeros(r.digits.slice(r.exp + 1));
      s = fp ? `${ip}.${fp}` : ip;
    } else {
      const fp = _stripZeros("0".repeat(-r.exp - 1) + r.digits);
      s = `0.${fp}`;
    }
    return { neg: r.neg, fixed: s, mant: null, exp: r.exp };
  }
  const tail = _stripZeros(r.digits.slice(1));
  const mant = tail ? `${r.digits[0]}.${tail}` : r.digits[0];
  return { neg: r.neg, fixed: null, mant, exp: r.exp };
}

// A slot's number as LaTeX: 4 significant digits (Python's ".4g"), scientific as m \times 10^{e},
// NaN as \text{NaN}, ±inf as \infty / -\infty, −0 as 0; negatives in parentheses when factor is true.
function formatNumber(value, factor) {
  const x = toNumber(value);
  let s;
  if (Number.isNaN(x)) s = "\\text{NaN}";
  else if (x === Infinity) s = "\\infty";
  else if (x === -Infinity) s = "-\\infty";
  else if (x === 0) s = "0";
  else {
    const g = _gParts(x, 4);
    const body = g.fixed !== null ? g.fixed : `${g.mant} \\times 10^{${g.exp}}`;
    s = (g.neg ? "-" : "") + body;
  }
  return factor && s.startsWith("-") ? `(${s})` : s;
}

const _SUP = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

function _superscript(n) {
  return String(n)
    .split("")
    .map((c) => _SUP[c] || c)
    .join("");
}

// A value printed in the diagram: 3 significant digits, U+2212 minus; fixed for 0.01 ≤ |x| < 1000,
// else like 1.23e−5. Non-finite: "NaN", "∞", "−∞"; null (no value) -> "".
function formatDiagram(value) {
  if (value === null || value === undefined) return "";
  const x = toNumber(value);
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "−∞";
  if (x === 0) return "0";
  const g = _gParts(x, 3, -2);
  const body = g.fixed !== null ? g.fixed : `${g.mant}e${String(g.exp).replace("-", "−")}`;
  return (g.neg ? "−" : "") + body;
}

// A gradient or magnitude for labels: 2 significant digits as m×10ᵉ (e.g. 3.2×10⁻¹), U+2212 minus.
function formatMagnitude(value) {
  const x = toNumber(value);
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "−∞";
  if (x === 0) return "0";
  const r = roundSig(x, 2);
  return `${r.neg ? "−" : ""}${r.digits[0]}.${r.digits[1]}×10${_superscript(r.exp)}`;
}

// 10^l as a label, from a log10 magnitude (null/NaN: the norm was 0 or not finite).
function formatLog10(l) {
  const x = toNumber(l);
  if (!Number.isFinite(x)) return "0 or not finite";
  let e = Math.floor(x);
  let m = Math.round(10 ** (x - e) * 10) / 10;
  if (m >= 10) {
    m = 1;
    e += 1;
  }
  return `${m.toFixed(1)}×10${_superscript(e)}`;
}

// Python's template.format(**values) for our templates: "{{" -> "{", "}}" -> "}", "{name}" -> the
// slot's number at index k (formatNumber; in parentheses when negative and name is a factor slot);
// {t}, {tp}, {tn} are integers. An unknown slot renders as \text{?name} (Python raises KeyError).
// wrap(name, text), if given, returns what replaces each field instead of text (the component marks
// every number with it; the TeX it shows is always the unwrapped string).
function fillTemplate(template, slots, k, ctx, wrap) {
  return template.replace(/\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name) => {
    if (m === "{{") return "{";
    if (m === "}}") return "}";
    let text;
    if (name === "t") text = String(ctx.t);
    else if (name === "tp") text = String(ctx.tp);
    else if (name === "tn") text = String(ctx.tn);
    else {
      const values = slots[name];
      if (values === undefined) return `\\text{?${name.replace(/_/g, "\\_")}}`;
      text = formatNumber(values[k], ctx.factors.has(name));
    }
    return wrap ? wrap(name, text) : text;
  });
}

// Index of the first "=" outside braces (and not escaped), or −1.
function firstTopLevelEquals(line) {
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\") {
      i += 1; // skip the escaped character (\{, \}, \\ ...)
      continue;
    }
    if (c === "{") depth += 1;
    else if (c === "}") depth = Math.max(0, depth - 1);
    else if (c === "=" && depth === 0) return i;
  }
  return -1;
}

// Filled lines -> one \begin{aligned}…\end{aligned}: each line aligned on its first top-level "=";
// a line starting with "=" continues the equation above (its "=" is the alignment point).
function alignedBlock(lines) {
  const rows = lines.map((line) => {
    const s = line.trim();
    const i = firstTopLevelEquals(s);
    if (i < 0) return `& ${s}`;
    return `${s.slice(0, i)}&${s.slice(i)}`;
  });
  return `\\begin{aligned}${rows.join(" \\\\ ")}\\end{aligned}`;
}
