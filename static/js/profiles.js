// The page's profiles (personal.js): kept in this browser's IndexedDB (through Dexie), named,
// several per browser and per model; exported and imported as JSON files. A profile holds numbers
// only, never a picture.

import Dexie from '/vendor/dexie/dexie.min.mjs';

export class ProfileStore {
  constructor(name = 'mien-profiles') {
    this.db = new Dexie(name);
    this.db.version(1).stores({ profiles: '++id, name, created' });
  }

  /** Every profile kept, oldest first, each with its `id`. */
  all() {
    return this.db.profiles.orderBy('created').toArray();
  }

  get(id) {
    return this.db.profiles.get(id);
  }

  /** Keep `profile` (under its `name`); resolves to its id. */
  add(profile) {
    const { id, ...kept } = profile;
    return this.db.profiles.add(kept);
  }

  rename(id, name) {
    return this.db.profiles.update(id, { name });
  }

  remove(id) {
    return this.db.profiles.delete(id);
  }
}

/** A profile read from an exported file; an Error with a sentence when it is none. */
export async function readProfileFile(file) {
  let profile;
  try {
    profile = JSON.parse(await file.text());
  } catch {
    throw new Error(`${file.name} is not a profile (not JSON); choose a file the page exported.`);
  }
  if (profile?.format !== 'mien-profile/1' || !profile.model?.classes) {
    throw new Error(`${file.name} is not a Mien profile; choose a file the page exported or python -m pipeline.personalise made.`);
  }
  return profile;
}
