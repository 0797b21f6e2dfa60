// Runs in the visitor's browser, on the page reached through the gateway's public URL. It writes one
// line per fact into #result (which says "JavaScript did not run." until then); scripts/browser-check
// reads them from Chromium's --dump-dom and judges them against the files on disk:
//   js ran                                 this script ran at all
//   page ORIGIN                            where the page ended up (after any redirect)
//   secure-context true                    *.localhost is one: crypto.subtle exists there
//   css probe-color rgb(18,52,86)          style.css applied (#probe's computed colour ...)
//   css body-background url(...tile.png)   ... and the body's tiled background image
//   asset PATH load STATUS fetch STATUS proto PROTOCOL bytes N sha256 HEX
//       every URL the page loaded (the document, the style sheet, this script, each image, the CSS
//       background): STATUS of the browser's own load (Resource Timing's responseStatus), then the
//       status of the same URL fetched again, uncached, by this script, the protocol the browser
//       spoke for the load (nextHopProtocol: http/1.1, h2), and the length and SHA-256 of the bytes
//   img PATH complete true width W height H   each <img> decoded, with its intrinsic size
//   end                                    nothing threw on the way
'use strict';
(async () => {
  const out = document.getElementById('result');
  const lines = ['js ran'];
  try {
    if (document.readyState !== 'complete') {
      await new Promise((resolve) => window.addEventListener('load', resolve, { once: true }));
    }
    lines.push('page ' + location.origin);
    lines.push('secure-context ' + window.isSecureContext);
    const css = (el, prop) => getComputedStyle(el)[prop].replace(/\s+/g, '');
    lines.push('css probe-color ' + css(document.getElementById('probe'), 'color'));
    lines.push('css body-background ' + css(document.body, 'backgroundImage'));

    const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
    const path = (url) => {
      const u = new URL(url, location.href);
      return u.origin === location.origin ? u.pathname : url;
    };
    // the document itself, then every resource the browser fetched for the page (not this script's fetches)
    const loads = new Map([[location.href, performance.getEntriesByType('navigation')[0]]]);
    for (const e of performance.getEntriesByType('resource')) {
      if (e.initiatorType !== 'fetch' && !loads.has(e.name)) loads.set(e.name, e);
    }
    for (const el of document.querySelectorAll('link[rel=stylesheet], script[src], img')) {
      const url = el.href || el.src;
      if (!loads.has(url)) loads.set(url, undefined); // referenced but never loaded: reported as such
    }
    for (const [url, entry] of loads) {
      const loadStatus = entry ? entry.responseStatus : 'none';
      const proto = (entry && entry.nextHopProtocol) || 'none';
      const resp = await fetch(url, { cache: 'no-store' });
      const body = await resp.arrayBuffer();
      const digest = hex(await crypto.subtle.digest('SHA-256', body));
      lines.push(`asset ${path(url)} load ${loadStatus} fetch ${resp.status} proto ${proto} bytes ${body.byteLength} sha256 ${digest}`);
    }
    for (const img of document.images) {
      lines.push(`img ${path(img.src)} complete ${img.complete} width ${img.naturalWidth} height ${img.naturalHeight}`);
    }
    lines.push('end');
  } catch (e) {
    lines.push('error ' + e);
  }
  out.textContent = lines.join('\n');
})();
