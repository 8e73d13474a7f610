/** The console's stylesheet and script, served as static files (the CSP allows no inline script). */
export const CONSOLE_CSS = `
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fafafa}
a{color:#0b57d0}a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus{outline:3px solid #f0a400;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:9}
header{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;padding:.6rem 1.5rem;background:#14213d;color:#fff}
header a{color:#fff}.brand{margin:0;font-weight:600}.brand a{text-decoration:none}
nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0}nav a[aria-current=page]{font-weight:700;text-decoration:underline}
.signout{margin-left:auto}.signout .muted{color:#cfd6e4}
main{max-width:64rem;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.muted,.hint{color:#555;font-size:.9rem}.hint{margin:.1rem 0}
.notice{background:#e6f4ea;border:1px solid #8bc79b;padding:.6rem .8rem;border-radius:4px}
.error-summary{background:#fdecea;border:1px solid #e3a19b;padding:.6rem .8rem;border-radius:4px}
.field{margin:.8rem 0}.field label{display:block;font-weight:600}
.field input[type=text],.field input[type=url],.field input[type=number],.field input[type=password],.field input[type=email],.field input[type=search],.field select,.field textarea{width:100%;max-width:40rem;font:inherit;padding:.35rem .5rem;border:1px solid #888;border-radius:3px}
.field textarea{font-family:ui-monospace,monospace;font-size:.85rem}
.field.checkbox label{display:inline;font-weight:400;margin-left:.3rem}
.invalid input,.invalid select,.invalid textarea{border-color:#b3261e;border-width:2px}.field-error{color:#b3261e;font-weight:600;margin:.1rem 0}
button{font:inherit;padding:.35rem .9rem;border:1px solid #14213d;background:#fff;border-radius:3px;cursor:pointer}
button.primary,form.main button[type=submit]{background:#14213d;color:#fff}button.danger{border-color:#b3261e;color:#b3261e}
form.inline{display:inline-block;margin:.2rem .4rem .2rem 0}
table{border-collapse:collapse;width:100%;margin:.5rem 0;background:#fff}caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}td code{word-break:break-all}
code{background:#f0f0f0;padding:.05rem .3rem;border-radius:3px;font-size:.9em}
.copyable{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;margin:.4rem 0}.copyable .label{min-width:9rem;font-weight:600}
.secret{background:#fff8e1;border:2px solid #f0a400;padding:.8rem;border-radius:4px}
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:.85rem;border:1px solid #888}
.badge.ok{border-color:#2e7d32;color:#2e7d32}.badge.warn{border-color:#a15c00;color:#a15c00}.badge.bad{border-color:#b3261e;color:#b3261e}
fieldset{border:1px solid #ccc;margin:1rem 0;padding:.5rem 1rem}legend{font-weight:600}
details{margin:.3rem 0}pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5rem;max-height:20rem;overflow:auto}
`;

export const CONSOLE_JS = `
(function () {
  'use strict';
  function announce(text) {
    var region = document.getElementById('messages');
    if (!region) return;
    region.innerHTML = '';
    var p = document.createElement('p');
    p.className = 'notice';
    p.setAttribute('role', 'status');
    p.textContent = text;
    region.appendChild(p);
  }
  function fallbackCopy(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'absolute';
    area.style.left = '-9999px';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }
  document.addEventListener('DOMContentLoaded', function () {
    var onward = document.querySelector('a[data-auto-continue]');
    if (onward) window.location.assign(onward.href);
    var buttons = document.querySelectorAll('button.copy[data-copy]');
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener('click', function () {
        var source = document.getElementById(button.getAttribute('data-copy'));
        if (!source) return;
        var text = source.textContent || '';
        var label = (document.getElementById(button.getAttribute('data-copy') + '-label') || {}).textContent || 'Value';
        var done = function () { announce(label + ' copied to the clipboard.'); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () {
            if (fallbackCopy(text)) done(); else announce('Copy failed: select the text and copy it by hand.');
          });
        } else if (fallbackCopy(text)) done();
        else announce('Copy failed: select the text and copy it by hand.');
      });
    });
  });
})();
`;
