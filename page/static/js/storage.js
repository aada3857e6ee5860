// Whether the browser keeps this site's data (the mood record, the profiles) until the user deletes
// it. By default a browser may clear a site's storage when the disk runs low ("best effort"); it
// keeps it for good ("persistent") only when asked, navigator.storage.persist(), and may refuse:
// Chromium decides by how the site is used, Firefox asks the user.
//
// askToKeep() asks, once per page: when the user first presses Record or keeps a profile.
// storageState() says where things stand; storageEvents dispatches 'change' once an answer came.

export const storageEvents = new EventTarget();
let asked = null; // this page's one request, once made

/** Ask the browser to keep this site's data; resolves to whether it will (false where it cannot be asked). */
export function askToKeep() {
  asked ??= (async () => {
    const storage = navigator.storage;
    if (!storage?.persist) return false;
    try {
      return (await storage.persisted?.()) || await storage.persist();
    } catch {
      return false;
    }
  })().then((granted) => {
    storageEvents.dispatchEvent(new Event('change'));
    return granted;
  });
  return asked;
}

/**
 * Where things stand: {kept: whether the browser keeps the data for good (null where it cannot be
 * asked: no navigator.storage.persist), left: bytes this site may still store (null where the
 * browser does not say)}.
 */
export async function storageState() {
  const storage = navigator.storage;
  const kept = storage?.persist && storage.persisted ? await storage.persisted().catch(() => false) : null;
  const estimate = await storage?.estimate?.().catch(() => null);
  const left = Number.isFinite(estimate?.quota) && Number.isFinite(estimate?.usage) ? Math.max(0, estimate.quota - estimate.usage) : null;
  return { kept, left };
}
