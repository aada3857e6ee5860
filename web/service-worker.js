// Mien's service worker, served at /sw.js (web/offline.py): keeps in this browser every file the
// page fetches to start and run, so that it opens, finds faces and records with the server gone.
// Registered by the page only (page/static/js/offline.js); the component never registers one.
//
// The server writes OFFLINE above this code: {version: a hash of those files' content, urls: their
// paths}. A change to any file changes this script, so the browser installs the new version in the
// background, into a cache of its own; it takes over only when no page runs the old one, or when a
// page just opened asks and is the only one open, so that no page ever mixes two versions.

const CACHE = `mien-${OFFLINE.version}`;
const KEPT = new Set(OFFLINE.urls);
const ANY_STATUS = new Set(['/healthz']); // kept as answered: 503 says what is missing, and the page reads it

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await Promise.all(OFFLINE.urls.map(async (url) => {
      // Revalidated with the server (an unchanged file answers 304 from the browser's own cache).
      const response = await fetch(url, { cache: 'no-cache' });
      // The response is kept with the headers the server sent (its policy, cross-origin isolation);
      // a redirected one could not answer a navigation, and an error page is no file.
      if (response.redirected || !(response.ok || ANY_STATUS.has(url))) throw new Error(`${url} answered ${response.status}`);
      await cache.put(url, response);
    }));
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const older = (await caches.keys()).filter((name) => name.startsWith('mien-') && name !== CACHE);
    await Promise.all(older.map((name) => caches.delete(name)));
    // The first visit's page, too: what it fetches later (another model) comes from this cache.
    await self.clients.claim();
  })());
});

// Cache first, for the kept paths only (whatever the query: /?backend=wasm is the page); any other
// request goes to the network as if there were no service worker.
self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || !KEPT.has(url.pathname)) return;
  event.respondWith((async () => {
    const kept = await (await caches.open(CACHE)).match(url.pathname, { ignoreVary: true });
    return kept ?? fetch(request);
  })());
});

// A page just opened while this version waits asks it to take over: it does if that page is the
// only one of this site open (the old version is then running nowhere else), and says so otherwise.
self.addEventListener('message', (event) => {
  if (event.data?.type !== 'take-over') return;
  event.waitUntil((async () => {
    const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    if (pages.length <= 1) await self.skipWaiting();
    else event.source?.postMessage({ type: 'others-open' });
  })());
});
