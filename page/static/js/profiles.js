// The page's profiles (personal.js): kept in this browser's IndexedDB (through Dexie), named,
// several per browser and per model; exported and imported as JSON files. A profile holds numbers
// only, never a picture.

import Dexie from '/vendor/dexie/dexie.min.mjs';
import { DAMAGED, PROFILE_FORMAT, damaged } from '/static/js/personal.js';

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

export const NAME_LENGTH = 60; // the longest name a profile keeps here (the name field's maxlength)
const MAX_FILE_BYTES = 1024 * 1024; // a profile of 7 classes and 256 features is about 40 kB

/** `name` as the page keeps it: without spaces around it, at most NAME_LENGTH characters. */
export const keptName = (name) => String(name ?? '').trim().slice(0, NAME_LENGTH);

/**
 * A profile read from an exported file, as {profile, trimmed} (whether its name was cut to
 * NAME_LENGTH); an Error with one sentence when it is none, too large, or damaged.
 */
export async function readProfileFile(file) {
  if (file.size > MAX_FILE_BYTES) {
    throw new Error(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB, too large for a profile (at most ${MAX_FILE_BYTES / 1024 / 1024} MB); choose a file the page exported.`);
  }
  let profile;
  try {
    profile = JSON.parse(await file.text());
  } catch {
    throw new Error(`${file.name} is not a profile (not JSON); choose a file the page exported.`);
  }
  if (profile?.format !== PROFILE_FORMAT) {
    throw new Error(`${file.name} is not a Mien profile; choose a file the page exported or python -m pipeline.personalise made.`);
  }
  if (damaged(profile)) throw new Error(`${file.name}: ${DAMAGED}`);
  const name = profile.name ?? file.name.replace(/\.json$/i, '');
  return { profile: { ...profile, name: keptName(name) || 'imported profile' }, trimmed: name.trim().length > NAME_LENGTH };
}
