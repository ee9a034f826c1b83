// The dashboard page: reads every panel's feed (GET /api/{name}) each
// refresh interval and draws it. Time series are uPlot charts; rankings are
// bars; lists are tables. Each panel records what it drew in data-state
// ("ok", "empty", "error") and data-points (how many values it shows).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const palette = ['#2563eb', '#059669', '#d97706', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
const refreshMs = Number(document.body.dataset.refreshMs) || 3000;

// el builds an element; text is set as text, never as HTML.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'style') Object.assign(e.style, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const fmtInt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fmtMoney = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const fmtPct = (x) => (100 * x).toFixed(1) + '%';
const fmtNum = (x) => (Math.abs(x) >= 100 || Number.isInteger(x) ? fmtInt.format(x) : x.toFixed(1));
const time = (s) => (s ? new Date(s).toISOString().slice(11, 19) : '');

// A panel's drawing area, kept between refreshes so charts update in place.
class Panel {
  constructor(section) {
    this.section = section;
    this.name = section.dataset.feed;
    this.body = section.querySelector('.body');
    this.charts = {};
  }
  state(state, points, message) {
    this.section.dataset.state = state;
    this.section.dataset.points = String(points);
    if (message !== undefined) {
      this.clear();
      this.body.append(el('p', { class: 'message' }, message));
    }
  }
  clear() {
    for (const c of Object.values(this.charts)) c.plot.destroy();
    this.charts = {};
    this.body.replaceChildren();
  }
  // slot returns the panel's element for key, created in order once.
  slot(key) {
    let s = this.body.querySelector(`[data-slot="${key}"]`);
    if (!s) {
      this.body.querySelector('.message')?.remove();
      s = el('div', { 'data-slot': key });
      this.body.append(s);
    }
    return s;
  }
  // series draws a time-series chart: xs in Unix seconds, lines
  // [{label, values, scale?}].
  series(key, xs, lines, opts = {}) {
    const slot = this.slot(key);
    const sig = lines.map((l) => l.label + '/' + (l.scale || 'y')).join('|');
    const width = Math.max(slot.clientWidth || this.body.clientWidth || 400, 200);
    let c = this.charts[key];
    if (!c || c.sig !== sig) {
      c?.plot.destroy();
      slot.replaceChildren();
      const scales = { x: { time: true } };
      const axes = [{}, { scale: 'y', values: (u, vals) => vals.map(fmtNum), size: 60 }];
      if (lines.some((l) => l.scale === 'right')) {
        scales.right = { auto: true };
        axes.push({ scale: 'right', side: 1, grid: { show: false }, values: (u, vals) => vals.map(fmtNum), size: 60 });
      }
      const plot = new uPlot({
        width, height: opts.height || 200, scales, axes,
        legend: { live: false },
        series: [{}, ...lines.map((l, i) => ({
          label: l.label, scale: l.scale === 'right' ? 'right' : 'y', stroke: palette[i % palette.length],
          width: 2, fill: lines.length === 1 ? palette[0] + '22' : undefined,
          paths: l.bars ? uPlot.paths.bars({ size: [0.7, 20] }) : undefined, points: { show: false },
        }))],
      }, [xs, ...lines.map((l) => l.values)], slot);
      c = this.charts[key] = { plot, sig };
    } else {
      if (c.plot.width !== width) c.plot.setSize({ width, height: c.plot.height });
      c.plot.setData([xs, ...lines.map((l) => l.values)]);
    }
    slot.querySelector('canvas')?.setAttribute('data-points', String(xs.length));
    return xs.length;
  }
  // bars draws labelled horizontal bars: rows [{label, value, text?}].
  bars(key, rows) {
    const slot = this.slot(key);
    const max = Math.max(1, ...rows.map((r) => r.value));
    const grid = el('div', { class: 'bars' });
    for (const r of rows) {
      grid.append(el('span', { class: 'label', title: r.label }, r.label),
        el('div', { class: 'track' }, el('div', { class: 'bar', style: { width: (100 * r.value / max).toFixed(1) + '%' } })),
        el('span', { class: 'num' }, r.text ?? fmtInt.format(r.value)));
    }
    slot.replaceChildren(grid);
    return rows.length;
  }
  // table draws rows of cells under headers; a header ending in '#' is
  // numeric, one ending in '~' wraps its text.
  table(key, headers, rows) {
    const slot = this.slot(key);
    const kind = headers.map((h) => (h.endsWith('#') ? 'num' : h.endsWith('~') ? 'wrap' : ''));
    const cell = (tag, i, c) => el(tag, kind[i] ? { class: kind[i] } : {}, c);
    const head = el('tr', {}, ...headers.map((h, i) => cell('th', i, h.replace(/[#~]$/, ''))));
    const body = rows.map((r) => el('tr', {}, ...r.map((c, i) => cell('td', i, c))));
    slot.replaceChildren(el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, head), el('tbody', {}, ...body))));
    return rows.length;
  }
  // stats draws big figures: [[label, text]].
  stats(key, items) {
    const slot = this.slot(key);
    slot.replaceChildren(el('div', { class: 'stats' }, ...items.map(([label, text]) =>
      el('div', { class: 'stat' }, el('div', { class: 'value' }, text), el('div', { class: 'label' }, label)))));
    return items.length;
  }
}

// tag is a coloured label of kind (decline, high, out_of_stock, ...),
// showing text or the kind itself.
const tag = (kind, text = kind) => el('span', { class: 'tag ' + kind }, text);

// seriesLines turns a Series feed value into chart lines, by name.
function seriesLines(d) {
  return Object.keys(d.values).sort().map((name) => ({ label: name, values: d.values[name] }));
}

// Each renderer draws one feed's value and returns how many values it shows.
const renderers = {
  throughput(p, d) {
    const total = Object.values(d.totals || {}).reduce((a, b) => a + b, 0);
    const rate = Object.values(d.latest).reduce((a, b) => a + b, 0);
    p.stats('stats', [['events so far', fmtInt.format(total)], ['events/s now', fmtInt.format(rate)]]);
    return p.series('chart', d.times, seriesLines(d));
  },
  lag(p, d) {
    return p.series('chart', d.times, seriesLines(d));
  },
  revenue(p, d) {
    const xs = d.minutes.map((m) => Date.parse(m.start_at) / 1000);
    const rev = d.minutes.reduce((a, m) => a + m.revenue, 0);
    const orders = d.minutes.reduce((a, m) => a + m.orders, 0);
    p.stats('stats', [['revenue, last hour', fmtMoney.format(rev)], ['orders, last hour', fmtInt.format(orders)],
      ['average order', orders ? fmtMoney.format(d.minutes.reduce((a, m) => a + m.average_order_value * m.orders, 0) / orders) : '–']]);
    return p.series('chart', xs, [
      { label: 'revenue', values: d.minutes.map((m) => m.revenue) },
      { label: 'orders', values: d.minutes.map((m) => m.orders), scale: 'right' },
    ]);
  },
  funnel(p, d) {
    const names = { viewed: 'viewed a product', added_to_cart: 'added to cart', ordered: 'ordered', paid: 'paid' };
    p.bars('bars', d.steps.map((s, i) => ({
      label: names[s.step] || s.step, value: s.count,
      text: fmtInt.format(s.count) + (i ? ` (${fmtPct(s.conversion)})` : ''),
    })));
    return d.steps.some((s) => s.count > 0) ? d.steps.length : 0;
  },
  top_products(p, d) {
    return p.table('table', ['product', 'category', 'views#', 'carts#', 'units#', 'revenue#'],
      d.products.map((x) => [x.product_id, x.category, fmtInt.format(x.views), fmtInt.format(x.add_to_cart),
        fmtInt.format(x.units), fmtMoney.format(x.revenue)]));
  },
  sessions(p, d) {
    p.stats('stats', [['sessions', fmtInt.format(d.total)], ['open', fmtInt.format(d.open)],
      ['converted', fmtPct(d.conversion_rate)], ['average length', Math.round(d.average_duration_seconds / 60) + ' min'],
      ['revenue', fmtMoney.format(d.revenue)]]);
    return p.series('chart', d.started_per_minute.map((m) => Date.parse(m.start_at) / 1000),
      [{ label: 'sessions started per minute', values: d.started_per_minute.map((m) => m.sessions), bars: true }], { height: 150 });
  },
  fraud_alerts(p, d) {
    p.stats('stats', [['alerts', fmtInt.format(d.total)], ...Object.entries(d.by_decision).sort().map(([k, v]) => [k, fmtInt.format(v)])]);
    const n = p.bars('bars', d.by_rule.map((r) => ({ label: r.rule, value: r.alerts })));
    p.table('latest', ['time', 'order', 'user', 'score#', 'decision', 'rules~'],
      d.latest.map((a) => [time(a.occurred_at), a.order_id, a.user_id, a.score.toFixed(0), tag(a.decision), a.rules.join(', ')]));
    return n;
  },
  low_stock(p, d) {
    p.stats('stats', [['at or below threshold', fmtInt.format(d.total)], ['out of stock', fmtInt.format(d.out_of_stock)]]);
    return p.table('table', ['product', 'warehouse', 'on hand#', 'reserved#', 'available#', 'low at#'],
      d.items.map((s) => [s.product_id, s.warehouse_id, fmtInt.format(s.on_hand), fmtInt.format(s.reserved),
        s.out_of_stock ? tag('out_of_stock', fmtInt.format(s.available)) : fmtInt.format(s.available), fmtInt.format(s.threshold)]));
  },
  support_cases(p, d) {
    p.stats('stats', [['open cases', fmtInt.format(d.open)], ...Object.entries(d.by_priority).sort().map(([k, v]) => [k, fmtInt.format(v)])]);
    return p.table('table', ['opened', 'case', 'order', 'priority', 'rating#', 'reasons~'],
      d.latest.map((c) => [time(c.opened_at), c.case_id, c.order_id || '–', tag(c.priority), c.lowest_rating || '–', c.reasons.join(', ')]));
  },
  dead_letters(p, d) {
    // Bars by reason over every function; the feed has them per function.
    const byReason = {};
    const fns = {};
    for (const r of d.by_reason) {
      byReason[r.reason] = (byReason[r.reason] || 0) + r.count;
      fns[r.function] = (fns[r.function] || 0) + r.count;
    }
    p.stats('stats', [['dead letters', fmtInt.format(d.total)], ['functions', String(Object.keys(fns).length)]]);
    return p.bars('bars', Object.entries(byReason).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([reason, count]) => ({ label: reason, value: count })));
  },
};

const panels = [...document.querySelectorAll('section.panel')].map((s) => new Panel(s));
const status = document.getElementById('status');

async function refresh(p) {
  let env;
  try {
    const res = await fetch('/api/' + p.name, { cache: 'no-store' });
    env = await res.json();
  } catch (err) {
    p.state('error', 0, 'cannot read the feed: ' + err);
    return false;
  }
  if (env.error) {
    p.state('error', 0, env.error);
    return false;
  }
  const draw = renderers[p.name];
  if (!draw) {
    p.state('ok', 1, JSON.stringify(env.data).slice(0, 400));
    return true;
  }
  try {
    const n = draw(p, env.data);
    if (n > 0) p.state('ok', n);
    else p.state('empty', 0, 'no data yet');
  } catch (err) {
    p.state('error', 0, 'cannot draw the feed: ' + err);
    return false;
  }
  return true;
}

async function tick() {
  const ok = await Promise.all(panels.map(refresh));
  const failed = ok.filter((x) => !x).length;
  status.textContent = `updated ${new Date().toLocaleTimeString()}` + (failed ? ` · ${failed} feed(s) failing` : '');
  status.classList.toggle('bad', failed > 0);
  document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  setTimeout(tick, refreshMs);
}

tick();
