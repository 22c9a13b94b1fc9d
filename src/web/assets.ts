/**
 * The page's stylesheet and script, served from this server (the Content-Security-Policy allows
 * no inline script or style). Plain text in the source: there is no front-end build step.
 */
export const APP_CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;padding:0 12px 40px;max-width:1100px;color:#1d1d1f;background:#fafafa}
li,dd,.note,.todo{overflow-wrap:anywhere}
header{display:flex;flex-wrap:wrap;align-items:center;gap:4px 16px;border-bottom:1px solid #ddd;margin-bottom:8px}
header h1{font-size:22px;margin:10px 0}
#state{flex:1 1 300px}
h2{font-size:17px;margin:18px 0 6px}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,480px),1fr));gap:0 28px}
section{min-width:0}
#charts,#library,#failed,#sessions{grid-column:1/-1}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid #e3e3e3;text-align:left;white-space:nowrap}
@media (max-width:480px){body{font-size:14px}th,td{padding:3px 4px}th{font-size:12px}}
.counts td{font-size:20px;font-weight:600}
.scroll{overflow-x:auto;max-width:100%}
ul{list-style:none;padding:0;margin:0}
li{padding:6px 0;border-bottom:1px solid #e8e8e8}
progress{width:min(240px,60vw);vertical-align:middle}
.inline{display:inline}
button{font:inherit;white-space:nowrap;flex:none;padding:3px 10px;border:1px solid #2f6fb0;background:#2f6fb0;color:#fff;border-radius:4px;cursor:pointer}
button.quiet{background:#fff;color:#2f6fb0}
.muted{color:#666}
.ok{color:#17692c}
.warn{color:#9a5b00}
.error{color:#b00020}
.note{background:#eef5fc;border:1px solid #b8d3ee;padding:6px 10px;border-radius:4px}
.badge{display:inline-block;padding:0 6px;border-radius:8px;background:#e6e6e6;font-size:13px}
.badge.ok{background:#d9f2df}.badge.expired,.badge.failed,.badge.partial{background:#f8d7da}.badge.cooling,.badge.disabled{background:#fff1cc}
.todo{margin-top:4px;padding:4px 8px;background:#fff8e6;border-left:3px solid #e0a800}
code{font:13px ui-monospace,monospace;background:#f0f0f0;padding:1px 4px;border-radius:3px;word-break:break-all}
dl.pace{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
dt{font-weight:600}dd{margin:0}
img.chart{max-width:100%;height:auto;display:block;margin:4px 0 10px;background:#fff;border:1px solid #e3e3e3}
form.enqueue label{display:block;margin:6px 0}
form.enqueue textarea,form.enqueue input[type=text],form.search input{width:100%;font:inherit;padding:4px}
form.enqueue .check input{width:auto}
form.search{display:flex;gap:6px}
ul.library li{display:flex;gap:10px;align-items:flex-start}
img.cover{width:60px;height:80px;object-fit:cover;background:#eee;flex:none}
.login{max-width:420px;margin:60px auto}.login input{display:block;width:100%;margin:6px 0 10px;font:inherit;padding:6px}
`;

export const APP_JS = `'use strict';
(function () {
  function duration(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return s % 60 ? m + 'm ' + (s % 60) + 's' : m + 'm';
    var h = Math.floor(m / 60);
    if (h < 48) return m % 60 ? h + 'h ' + (m % 60) + 'm' : h + 'h';
    var d = Math.floor(h / 24);
    return h % 24 ? d + 'd ' + (h % 24) + 'h' : d + 'd';
  }
  function relative(at, now) {
    if (Math.abs(at - now) < 1000) return 'now';
    return at < now ? duration(now - at) + ' ago' : 'in ' + duration(at - now);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll('time.countdown').forEach(function (el) {
      var at = Number(el.getAttribute('data-at'));
      if (at) el.textContent = relative(at, now);
    });
  }
  function refreshCharts() {
    ['chart-hours', 'chart-days'].forEach(function (id) {
      var img = document.getElementById(id);
      if (img) img.src = img.src.split('?')[0] + '?t=' + Date.now();
    });
  }
  setInterval(tick, 1000);
  // Only the page itself has live sections; the login form and error pages open no stream.
  if (!window.EventSource || !document.querySelector('[data-live]')) return;
  var archived;
  var snapshots = 0;
  var stream = new EventSource('/api/events');
  stream.addEventListener('snapshot', function (e) {
    var data = JSON.parse(e.data);
    Object.keys(data.html).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.innerHTML = data.html[id];
    });
    if (archived !== undefined && data.jobs.succeeded !== archived) refreshCharts();
    archived = data.jobs.succeeded;
    snapshots += 1;
    document.body.setAttribute('data-live', 'on');
    document.body.setAttribute('data-snapshots', String(snapshots));
    tick();
  });
  stream.addEventListener('book.archived', refreshCharts);
  stream.addEventListener('error', function () {
    document.body.setAttribute('data-live', 'off');
  });
})();
`;
