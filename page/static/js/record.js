// The mood record: for every interval while recording, the expression shares of the main face
// (the largest) and whether a face was in view, kept in this browser's IndexedDB (through Dexie)
// and nowhere else. Intervals older than a day are summarised per minute, so a month stays small.
//
// A stored interval: {start (ms since 1970), day ('YYYY-MM-DD', local), classes (['angry', 'happy', ...]),
// seconds (recorded), faceSeconds (of those, with a face in view), shares (mean score of each
// class while a face was in view, or null), profile (the name of the profile the faces were read
// with, or null)}. Records of different class sets are kept apart, and so are a minute's seconds
// read with different profiles.
//
// One tab records at a time (a Web Lock): with the page open twice, the visible tab whose camera
// runs records, and another takes over when it is hidden or stops, so no second counts twice.
//
// The JSON export holds every row whole, so importing it restores the record (merged with what is
// there; see MoodRecord.import). The CSV export rounds the shares and marks no minute summary: it
// is for reading elsewhere, and is refused as a backup.

import Dexie from '/vendor/dexie/dexie.min.mjs';
import { largest } from '/static/js/boxes.js';

export const INTERVAL_MS = 1000;
const RECORDER_LOCK = 'mien-record';
const FORMULA_STARTS = ['=', '+', '-', '@', '\t', '\r']; // a spreadsheet runs a cell starting so (OWASP)
const DAY_MS = 24 * 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;
const FORMAT = 'mien-record/1';
// The largest file Import reads: 200 MB, some 600,000 exported intervals (about 350 bytes each), more
// than a year of minute rows recorded sixteen hours a day. A larger one is refused unread, before it
// could exhaust the tab's memory.
export const IMPORT_LIMIT_BYTES = 200e6;

/** The local calendar day of a time, as 'YYYY-MM-DD'. */
export function dayOf(time) {
  const date = new Date(time);
  const pad = (number) => String(number).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The class with the largest share, or '' without shares. */
export function labelOf(classes, shares) {
  return shares ? classes[shares.indexOf(Math.max(...shares))] : '';
}

/** Weighted mean of rows' shares (weights: their seconds with a face), or null without any. */
function meanShares(rows) {
  const withFace = rows.filter((row) => row.faceSeconds > 0 && row.shares);
  const weight = withFace.reduce((total, row) => total + row.faceSeconds, 0);
  if (weight === 0) return null;
  return withFace[0].shares.map((_, index) => withFace.reduce((total, row) => total + row.shares[index] * row.faceSeconds, 0) / weight);
}

/** Gathers one interval's camera results: the main face's scores, and how often a face was seen. */
export class IntervalAccumulator {
  constructor() {
    this.reset();
  }

  reset() {
    Object.assign(this, { frames: 0, withFace: 0, sums: null, profile: null, started: Date.now() });
  }

  /** Take one analysed frame's faces ([{box, label, scores}]). */
  add(faces) {
    this.frames += 1;
    const scored = faces.filter((face) => face.label);
    if (scored.length === 0) return;
    const main = largest(scored);
    const scores = Object.values(main.scores);
    this.sums = this.sums ? this.sums.map((sum, index) => sum + scores[index]) : scores;
    this.withFace += 1;
    if (main.profile) this.profile = main.profile === true ? 'unnamed profile' : main.profile;
  }

  /** The interval as a row to store (null if no frame was analysed), and a fresh start. */
  take(classes) {
    const { frames, withFace, sums, started, profile } = this;
    this.reset();
    if (frames === 0) return null;
    const inView = 2 * withFace >= frames; // a face in at least half of the frames
    return {
      start: started, day: dayOf(started), classes: [...classes], seconds: 1,
      faceSeconds: inView ? 1 : 0, shares: inView ? sums.map((sum) => sum / withFace) : null, profile,
    };
  }
}

export class MoodRecord {
  constructor(name = 'mien-record') {
    this.db = new Dexie(name);
    const stores = { intervals: '++id, start, [classes+day], [classes+start]' };
    this.db.version(1).stores(stores); // classes joined by commas, which class names may hold
    this.db.version(2).stores(stores).upgrade((transaction) => transaction.table('intervals').toCollection()
      .modify((row) => { if (typeof row.classes === 'string') row.classes = row.classes.split(','); }));
    // Version 2's compaction kept no profile in its minute rows: every row now names its profile
    // (or null), and those minutes, whose profile is not known, say null.
    this.db.version(3).stores(stores).upgrade((transaction) => transaction.table('intervals').toCollection()
      .modify((row) => { if (!('profile' in row)) row.profile = null; }));
  }

  add(row) {
    return this.db.intervals.add(row);
  }

  /** Every stored interval, oldest first (of one class set when `classes` is given). */
  async rows(classes) {
    const rows = classes
      ? await this.db.intervals.where('[classes+start]').between([classes, -Infinity], [classes, Infinity]).toArray()
      : await this.db.intervals.orderBy('start').toArray();
    return rows;
  }

  /** The intervals of one day for one class set, oldest first. */
  async day(classes, day) {
    const rows = await this.db.intervals.where('[classes+day]').equals([classes, day]).toArray();
    return rows.sort((a, b) => a.start - b.start);
  }

  /** The class sets recorded, each with its days, newest first: [{classes, days: [...]}]. */
  async index() {
    const keys = await this.db.intervals.orderBy('[classes+day]').uniqueKeys();
    const sets = new Map();
    for (const [classes, day] of keys) {
      const key = JSON.stringify(classes);
      sets.set(key, { classes, days: [day, ...(sets.get(key)?.days ?? [])] });
    }
    return [...sets.values()];
  }

  /**
   * How much is stored: {seconds recorded, intervals, days, bytes}. `bytes` is the record's own
   * size: the characters of every row's JSON (bytes, for class and profile names in ASCII), which
   * is what the rows hold; the browser's estimate() counts the whole site (cached files too).
   */
  async totals() {
    let seconds = 0;
    let intervals = 0;
    let bytes = 0;
    const days = new Set();
    await this.db.intervals.each((row) => {
      seconds += row.seconds;
      intervals += 1;
      bytes += JSON.stringify(row).length;
      days.add(row.day);
    });
    return { seconds, intervals, days: days.size, bytes };
  }

  /**
   * Summarise second-by-second intervals older than a day into one interval per minute (per class
   * set and per profile: a minute whose seconds were read with two profiles gives two rows).
   */
  async compact(now = Date.now()) {
    await this.db.transaction('rw', this.db.intervals, async () => {
      const old = await this.db.intervals.where('start').below(now - DAY_MS).filter((row) => !row.minute).toArray();
      const minutes = new Map();
      for (const row of old) {
        const key = JSON.stringify([row.classes, Math.floor(row.start / MINUTE_MS), row.profile ?? null]);
        minutes.set(key, [...(minutes.get(key) ?? []), row]);
      }
      const summaries = [...minutes.values()].map((rows) => {
        const start = Math.floor(rows[0].start / MINUTE_MS) * MINUTE_MS;
        return {
          start, day: dayOf(start), classes: rows[0].classes, minute: true, profile: rows[0].profile ?? null,
          seconds: rows.reduce((total, row) => total + row.seconds, 0),
          faceSeconds: rows.reduce((total, row) => total + row.faceSeconds, 0),
          shares: meanShares(rows),
        };
      });
      await this.db.intervals.bulkDelete(old.map((row) => row.id));
      await this.db.intervals.bulkAdd(summaries);
    });
  }

  deleteDay(classes, day) {
    return this.db.intervals.where('[classes+day]').equals([classes, day]).delete();
  }

  deleteAll() {
    return this.db.intervals.clear();
  }

  /**
   * The record of one class set as CSV: a row per interval, the header naming the classes. Text
   * is quoted and formula-safe (a cell a spreadsheet would run gets a ' before it), as
   * pipeline.mood reads it.
   */
  async csv(classes) {
    const lines = [['time', 'seconds', 'face_in_view', 'label', 'profile', ...classes].map(csvCell).join(',')];
    for (const row of await this.rows(classes)) {
      lines.push([
        new Date(row.start).toISOString(), row.seconds, +(row.faceSeconds / row.seconds).toFixed(4),
        labelOf(classes, row.shares), row.profile ?? '', ...(row.shares ? row.shares.map((share) => +share.toFixed(4)) : classes.map(() => '')),
      ].map(csvCell).join(','));
    }
    return `${lines.join('\n')}\n`;
  }

  /**
   * The whole record as JSON, each interval with its classes and whether it is a minute's summary:
   * all a row holds (its day is its time's, here), so that importing it gives the same rows.
   */
  async json() {
    const intervals = (await this.rows()).map((row) => ({
      time: new Date(row.start).toISOString(), seconds: row.seconds, face_seconds: row.faceSeconds,
      classes: row.classes, shares: row.shares, label: labelOf(row.classes, row.shares) || null, profile: row.profile ?? null,
      minute: Boolean(row.minute),
    }));
    return JSON.stringify({ format: FORMAT, exported: new Date().toISOString(), intervals }, null, 1);
  }

  /**
   * Restore a JSON export (a File): its intervals are merged with the record, and one whose time
   * overlaps a stored interval of the same classes is skipped as already there (an older export
   * holds seconds that have since become minute rows, and no file says which). Resolves to
   * {added, skipped}. A file that is too large, no JSON export, or wrong in any interval is refused
   * whole, with an ImportRefused naming what is wrong, and nothing is written.
   */
  async import(file) {
    if (file.size > IMPORT_LIMIT_BYTES) {
      throw new ImportRefused(`it is ${(file.size / 1e6).toFixed(1)} MB, larger than the ${IMPORT_LIMIT_BYTES / 1e6} MB an export of the record may be`);
    }
    return this.merge(readExport(await file.text(), file.name));
  }

  /** Add the rows that overlap no stored interval of their classes, in one transaction: {added, skipped}. */
  merge(rows) {
    return this.db.transaction('rw', this.db.intervals, async () => {
      const stored = new Map(); // per class set, what was stored before
      const taken = new Set(); // the file's rows taken, so that a file holding one twice counts it once
      const fresh = [];
      for (const row of rows) {
        const set = JSON.stringify(row.classes);
        if (!stored.has(set)) stored.set(set, new Spans(await this.rows(row.classes)));
        const key = JSON.stringify([set, row.start, row.profile, Boolean(row.minute)]);
        if (stored.get(set).overlaps(span(row)) || taken.has(key)) continue;
        taken.add(key);
        fresh.push(row);
      }
      await this.db.intervals.bulkAdd(fresh);
      return { added: fresh.length, skipped: rows.length - fresh.length };
    });
  }
}

/** Why a file was not imported (a clause: "it is not JSON"); nothing was written. */
export class ImportRefused extends Error {}

/**
 * The time an interval covers, [from, to) in ms: a minute's summary all of its minute (its seconds
 * lay anywhere in it), any other interval its own seconds.
 */
function span(row) {
  if (!row.minute) return [row.start, row.start + row.seconds * 1000];
  const from = Math.floor(row.start / MINUTE_MS) * MINUTE_MS;
  return [from, from + MINUTE_MS];
}

/** The spans of stored intervals, searched for one that overlaps a given span. */
class Spans {
  constructor(rows) {
    this.spans = rows.map(span).sort((a, b) => a[0] - b[0]);
    this.longest = this.spans.reduce((longest, [from, to]) => Math.max(longest, to - from), 0);
  }

  overlaps([from, to]) {
    // Only a span starting after from - longest can reach past from: found by bisection.
    let low = 0;
    let high = this.spans.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.spans[middle][0] > from - this.longest) high = middle;
      else low = middle + 1;
    }
    for (let index = low; index < this.spans.length && this.spans[index][0] < to; index += 1) {
      if (this.spans[index][1] > from) return true;
    }
    return false;
  }
}

const isName = (value) => typeof value === 'string';
const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);

/**
 * The rows of a JSON export (what record.json() writes, also before it marked minute summaries),
 * every field checked; an ImportRefused names the first that is wrong.
 */
export function readExport(text, name = '') {
  if (/\.csv$/i.test(name) || /^\uFEFF?"?time"?,/.test(text)) {
    throw new ImportRefused('a CSV export rounds the shares and marks no minute summary, so it cannot restore the record; import the file Export JSON writes');
  }
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ImportRefused('it is not JSON; import the file Export JSON writes');
  }
  if (data?.format !== FORMAT || !Array.isArray(data.intervals)) {
    throw new ImportRefused(`it is no export of the mood record (Export JSON writes one, its format ${FORMAT})`);
  }
  return data.intervals.map((interval, index) => {
    const problem = intervalProblem(interval);
    if (problem) throw new ImportRefused(`interval ${index + 1} of ${data.intervals.length} ${problem}`);
    const start = Date.parse(interval.time);
    // Files written before `minute` was exported: only a minute's summary holds more than a second.
    const minute = interval.minute ?? interval.seconds > 1;
    return {
      start, day: dayOf(start), classes: interval.classes, seconds: interval.seconds, faceSeconds: interval.face_seconds,
      shares: interval.shares, profile: interval.profile ?? null, ...(minute ? { minute: true } : {}),
    };
  });
}

/** What is wrong with an exported interval (a clause: "has no time"), or '' if nothing. */
function intervalProblem(interval) {
  if (typeof interval !== 'object' || interval === null || Array.isArray(interval)) return 'is not an object';
  const { time, seconds, face_seconds: faceSeconds, classes, shares, label, profile, minute } = interval;
  if (!isName(time) || !Number.isFinite(Date.parse(time))) return 'has no time that can be read';
  if (!isNumber(seconds) || seconds <= 0) return 'has no positive number of seconds';
  if (!isNumber(faceSeconds) || faceSeconds < 0 || faceSeconds > seconds) return 'has face seconds that are no number from 0 to its seconds';
  if (!Array.isArray(classes) || classes.length === 0 || !classes.every(isName)) return 'has classes that are no list of names';
  if (shares !== null && !(Array.isArray(shares) && shares.length === classes.length && shares.every(isNumber))) {
    return `has shares that are neither null nor ${classes.length} numbers`;
  }
  if (label !== undefined && label !== null && !isName(label)) return 'has a label that is neither a name nor null';
  if (profile !== undefined && profile !== null && !isName(profile)) return 'has a profile that is neither a name nor null';
  if (minute !== undefined && typeof minute !== 'boolean') return 'has a minute mark that is neither true nor false';
  return '';
}

/** A CSV cell: numbers as they are; text quoted, and formula-safe. */
function csvCell(value) {
  if (typeof value === 'number') return String(value);
  const text = String(value);
  const safe = FORMULA_STARTS.some((start) => text.startsWith(start)) ? `'${text}` : text;
  return `"${safe.replaceAll('"', '""')}"`;
}

/**
 * The right to record, shared by this site's tabs: one holds it at a time. `claim()` asks for it
 * (taken at once if free, else asked again later), `free()` gives it back; `held` says whether
 * this tab has it. Without Web Locks (an old browser) every tab holds it.
 */
export class RecorderLock {
  constructor() {
    this.held = !navigator.locks;
    this.asking = false;
    this.release = null;
  }

  claim() {
    if (this.held || this.asking) return;
    this.asking = true;
    navigator.locks.request(RECORDER_LOCK, { ifAvailable: true }, (lock) => {
      this.asking = false;
      if (!lock) return undefined;
      this.held = true;
      return new Promise((resolve) => { this.release = resolve; });
    });
  }

  free() {
    if (!this.release) return;
    this.release();
    this.release = null;
    this.held = false;
  }
}

/** A day's summary: seconds recorded, seconds with a face, and the mean share of each class. */
export function summarise(rows) {
  return {
    seconds: rows.reduce((total, row) => total + row.seconds, 0),
    faceSeconds: rows.reduce((total, row) => total + row.faceSeconds, 0),
    shares: meanShares(rows),
  };
}
