// The page's offline copy: registers the service worker (/sw.js, web/service-worker.js) that keeps
// every file Mien needs in this browser, so that the page, once visited (or installed), opens and
// works with the server gone; and says when a new version is ready. Only the page does this: the
// component (mien.js) never registers a service worker, so the sites that embed it keep their own.

const READY = 'A new version of Mien is ready: reload to use it.';
const OTHERS_OPEN = "A new version of Mien is ready: close Mien's other tabs, then reload to use it.";

/**
 * Register the service worker; `say(text)` shows a sentence on the page. In a browser without
 * service workers, or on a page served over plain http from another host than localhost, nothing
 * happens; a registration that fails leaves the page working online as before.
 */
export async function keepOffline(say) {
  try {
    const { serviceWorker } = navigator;
    if (!serviceWorker || !window.isSecureContext) return;
    const running = serviceWorker.controller; // the version this page runs; null on a first visit
    // A first visit installs once the page has loaded, not while it starts.
    if (!running && document.readyState !== 'complete') {
      await new Promise((resolve) => window.addEventListener('load', resolve, { once: true }));
    }
    const registration = await serviceWorker.register('/sw.js', { scope: '/' });
    serviceWorker.addEventListener('message', ({ data }) => { if (data?.type === 'others-open') say(OTHERS_OPEN); });
    if (running && registration.waiting) {
      // Opened (or reloaded) while a new version waits: it takes over if this is the only page of
      // Mien open, and this page then starts again in it at once.
      serviceWorker.addEventListener('controllerchange', () => window.location.reload(), { once: true });
      registration.waiting.postMessage({ type: 'take-over' });
    }
    // A new version found while the page runs (the browser looks at each visit, this page each time
    // its tab is shown again) is installed beside this one and announced, never switched to.
    const announce = (worker) => worker?.addEventListener('statechange', () => {
      if (worker.state === 'installed' && serviceWorker.controller) say(READY);
    });
    announce(registration.installing);
    registration.addEventListener('updatefound', () => announce(registration.installing));
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) registration.update().catch(() => {}); // offline: nothing to look at
    });
  } catch (error) {
    console.warn(`Mien keeps no offline copy in this browser (${error.message}); it works online as before.`);
  }
}
