// Static figures are already in the HTML; this refreshes them from the data and fills in URL inputs.
const $ = (id) => document.getElementById(id);
const plain = (n) => String(Math.round(n * 100) / 100);

function parseCsv(text) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  const [head, ...body] = rows.filter((r) => r.some((v) => v.trim()));
  return body.map((r) => Object.fromEntries(head.map((h, i) => [h.trim(), (r[i] || "").trim()])));
}

async function refreshData() {
  if (!CONFIG.csv || !CONFIG.value) return;
  const response = await fetch(CONFIG.csv);
  if (!response.ok) throw new Error(`${CONFIG.csv}: HTTP ${response.status}`);
  const rows = parseCsv(await response.text());
  const amount = (row) => parseFloat(String(row[CONFIG.value]).replace(/[^0-9.eE+-]/g, "")) || 0;
  const total = rows.reduce((sum, row) => sum + amount(row), 0);
  for (const id of CONFIG.totals) if ($(id)) $(id).textContent = plain(total);
  if (!CONFIG.group) return;
  const groups = new Map();
  for (const row of rows) groups.set(row[CONFIG.group], (groups.get(row[CONFIG.group]) || 0) + amount(row));
  for (const id of CONFIG.tables) {
    const body = $(id) && $(id).querySelector("tbody");
    if (!body) continue;
    body.replaceChildren(...[...groups].sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => {
      const tr = document.createElement("tr");
      for (const text of [key, plain(value)]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }));
  }
}

async function solveImage(src) {
  const targets = CONFIG.solutionTargets.map($).filter(Boolean);
  if (!targets.length) return;
  let text = "";
  try {
    if (!window.Tesseract) throw new Error("OCR library not loaded");
    const result = await window.Tesseract.recognize(src, "eng");
    text = result.data.text.replace(/\s+/g, "").trim();
  } catch (err) {
    console.warn("could not solve the image:", err);
  }
  for (const el of targets) el.textContent = text || "unreadable";
}

function showParams() {
  const params = new URLSearchParams(location.search);
  for (const name of CONFIG.params) {
    const value = params.get(name);
    const targets = [$(`param-${name}`), ...(name === "url" ? CONFIG.urlTargets.map($) : [])].filter(Boolean);
    const fallback = CONFIG.defaultImage ? `${CONFIG.defaultImage} (default)` : "(none given)";
    for (const el of targets) el.textContent = value || fallback;
  }
  const src = params.get("url") || CONFIG.defaultImage;
  if (src) {
    for (const el of CONFIG.imageTargets.map($).filter(Boolean)) el.src = src;
    solveImage(src);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  showParams();
  refreshData().catch((err) => console.error("could not refresh the data:", err));
});
