// The mood record's section of the page: the Record button, a timeline of the chosen day (uPlot),
// the day's summary, how much is stored and whether the browser keeps it, and exporting, importing
// or deleting the record.

import uPlot from '/vendor/uplot/uPlot.esm.js';
import { ImportRefused, IntervalAccumulator, INTERVAL_MS, RecorderLock, dayOf, summarise } from './record.js';
import { askToKeep, storageEvents, storageState } from './storage.js';

const COLOURS = ['#d1495b', '#2f7de1', '#8a8f98', '#edae49', '#00798c', '#7b4ea3', '#30a46c'];
const REFRESH_MS = 5000;
const EXPORTED_KEY = 'mien-record-exported'; // localStorage: the time of the last Export JSON, the backup

const $ = (id) => document.getElementById(id);

function duration(seconds) {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (hours) return `${hours} h ${minutes} min`;
  return minutes ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.round(seconds)} s`;
}

/** A number of bytes in kB, MB or GB (decimal, as disks are sold). */
function size(bytes) {
  const [unit, scale] = bytes >= 1e9 ? ['GB', 1e9] : bytes >= 1e6 ? ['MB', 1e6] : ['kB', 1e3];
  const value = bytes / scale;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

const plural = (count, noun) => `${count.toLocaleString()} ${noun}${count === 1 ? '' : 's'}`;

/** When the record was last exported as JSON here (a Date), or null. */
function lastExport() {
  try {
    const time = localStorage.getItem(EXPORTED_KEY);
    return time ? new Date(time) : null;
  } catch { // storage blocked
    return null;
  }
}

function download(name, type, text) {
  const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

export class RecordSection {
  /**
   * `record`: a MoodRecord; `live()`: whether the camera runs in a visible tab; `classes()`: the
   * class names of the model in use (null without one).
   */
  constructor(record, { live, classes }) {
    Object.assign(this, { record, live, classes });
    this.ui = {
      toggle: $('record-toggle'), status: $('record-status'), sets: $('record-classes'), day: $('record-day'),
      chart: $('record-chart'), summary: $('record-summary'), stored: $('record-stored'),
      csv: $('record-csv'), json: $('record-json'), deleteDay: $('record-delete-day'), deleteAll: $('record-delete-all'),
      importFile: $('record-import'), imported: $('record-imported'), kept: $('record-kept'),
    };
    this.recording = false;
    this.lock = new RecorderLock(); // one tab records at a time
    this.accumulator = new IntervalAccumulator();
    this.plot = null;
    this.wire();
    setInterval(() => this.tick(), INTERVAL_MS);
    setInterval(() => { if (this.recording && !document.hidden) this.refresh(); }, REFRESH_MS);
    this.record.compact().then(() => this.refresh());
  }

  wire() {
    const { ui } = this;
    ui.toggle.addEventListener('click', () => this.setRecording(!this.recording));
    ui.sets.addEventListener('change', () => this.refresh());
    ui.day.addEventListener('change', () => this.refresh());
    ui.csv.addEventListener('click', async () => {
      const classes = this.chosenSet();
      const name = classes.join('-').replace(/[^\w-]+/g, '_');
      download(`mien-record-${name}.csv`, 'text/csv', await this.record.csv(classes));
    });
    ui.json.addEventListener('click', async () => {
      download('mien-record.json', 'application/json', await this.record.json());
      try {
        localStorage.setItem(EXPORTED_KEY, new Date().toISOString());
      } catch { /* storage blocked: the date stays unknown */ }
      this.refresh();
    });
    ui.importFile.addEventListener('change', () => this.importFile());
    storageEvents.addEventListener('change', () => this.refresh());
    ui.deleteDay.addEventListener('click', async () => {
      if (!window.confirm(`Delete the record of ${ui.day.value} (${this.chosenSet().join(', ')})? This cannot be undone.`)) return;
      await this.record.deleteDay(this.chosenSet(), ui.day.value);
      this.refresh();
    });
    ui.deleteAll.addEventListener('click', async () => {
      if (!window.confirm('Delete the whole mood record kept in this browser? This cannot be undone.')) return;
      await this.record.deleteAll();
      this.refresh();
    });
  }

  setRecording(on) {
    if (on) askToKeep(); // the first Record asks the browser to keep the record
    this.recording = on;
    this.accumulator.reset();
    this.ui.toggle.setAttribute('aria-pressed', String(on));
    this.ui.toggle.classList.toggle('on', on);
    this.refresh();
  }

  /** Import the chosen file (a JSON export) into the record, and say what came of it. */
  async importFile() {
    const { ui } = this;
    const [file] = ui.importFile.files;
    ui.importFile.value = ''; // the same file may be chosen again
    if (!file) return;
    ui.imported.textContent = `Importing ${file.name}…`;
    try {
      const { added, skipped } = await this.record.import(file);
      ui.imported.textContent = `Imported ${file.name}: ${plural(added, 'interval')} added, ${skipped.toLocaleString()} skipped as already there.`;
      askToKeep(); // a restored record is one to keep
    } catch (error) {
      const reason = error instanceof ImportRefused ? error.message : `the browser could not store it (${error.message})`;
      ui.imported.textContent = `Nothing was imported from ${file.name}: ${reason}.`;
    }
    this.refresh();
  }

  /** A camera result: counted towards the current interval while recording. */
  take(faces) {
    if (this.recording) this.accumulator.add(faces);
  }

  /** The model or the profile changed: an interval never mixes two models' (or profiles') scores. */
  restart() {
    this.accumulator.reset();
  }

  async tick() {
    const classes = this.classes();
    if (!this.recording || !this.live() || !classes) { // off, camera stopped, tab hidden or no model
      this.accumulator.reset();
      this.lock.free(); // another tab may record
      return;
    }
    if (!this.lock.held) { // another tab records: this one counts nothing
      this.accumulator.reset();
      this.lock.claim();
      return;
    }
    const row = this.accumulator.take(classes);
    if (row) await this.record.add(row);
  }

  /** The class set chosen in the list (its names), or null. */
  chosenSet() {
    return this.ui.sets.value ? JSON.parse(this.ui.sets.value) : null;
  }

  /** Show the chosen class set's chosen day (by default the current model's, today). Refreshes
   * run one after the other, so an older one never overwrites a newer one. */
  refresh() {
    this.shown = (this.shown ?? Promise.resolve()).then(() => this.render()).catch((error) => console.error(error));
    return this.shown;
  }

  async render() {
    const { ui } = this;
    let status = 'Not recording.';
    if (this.recording && !this.live()) status = 'Recording while the camera runs in a visible tab.';
    else if (this.recording) status = this.lock.held ? 'Recording.' : 'Another tab is recording; this one takes over when that one stops or is hidden.';
    ui.status.textContent = status;
    const sets = await this.record.index();
    const wanted = ui.sets.value || JSON.stringify(this.classes());
    ui.sets.replaceChildren(...sets.map(({ classes }) => new Option(classes.join(', '), JSON.stringify(classes))));
    if (sets.some((set) => JSON.stringify(set.classes) === wanted)) ui.sets.value = wanted;
    const days = sets.find((set) => JSON.stringify(set.classes) === ui.sets.value)?.days ?? [];
    const chosenDay = days.includes(ui.day.value) ? ui.day.value : days[0];
    ui.day.replaceChildren(...days.map((day) => new Option(day === dayOf(Date.now()) ? `${day} (today)` : day, day)));
    if (chosenDay) ui.day.value = chosenDay;
    for (const control of [ui.sets, ui.day, ui.csv, ui.deleteDay]) control.disabled = days.length === 0;
    ui.json.disabled = ui.deleteAll.disabled = sets.length === 0;
    const chosen = this.chosenSet() ?? [];
    const rows = chosenDay ? await this.record.day(chosen, chosenDay) : [];
    this.drawTimeline(chosen, rows);
    this.showSummary(chosen, rows);
    await this.showStorage();
  }

  /** How much is stored, the room left, and whether the browser keeps it (and if not, the advice to export). */
  async showStorage() {
    const { ui } = this;
    const totals = await this.record.totals();
    const { kept, left } = await storageState();
    if (totals.intervals === 0) {
      ui.stored.textContent = 'Nothing is stored.';
      ui.kept.textContent = '';
      return;
    }
    ui.stored.textContent = `Stored in this browser: ${duration(totals.seconds)} over ${plural(totals.days, 'day')} `
      + `(${plural(totals.intervals, 'interval')}, ${size(totals.bytes)}; ${left === null ? 'the browser does not say how much room is left' : `room for ${size(left)} more`}).`;
    const exported = lastExport();
    const advice = `so keep a copy with Export JSON now and then (last export: ${exported ? dayOf(exported) : 'never'})`;
    if (kept) {
      ui.kept.textContent = 'Persistent storage granted: the browser will not clear the record to make room; it goes only when you delete it or clear this site\'s data.';
    } else if (kept === false) {
      ui.kept.textContent = `Persistent storage not granted: the browser may clear the record when the disk runs low, ${advice}.`;
    } else {
      ui.kept.textContent = `This browser cannot be asked for persistent storage (it has no navigator.storage.persist) and may clear the record when the disk runs low, ${advice}.`;
    }
  }

  /** Each class's share over the day; gaps where nobody was in view or nothing was recorded. */
  drawTimeline(classes, rows) {
    this.plot?.destroy();
    this.plot = null;
    if (rows.length === 0) {
      this.ui.chart.textContent = 'No record for this day yet: press Record while the camera runs.';
      return;
    }
    this.ui.chart.textContent = '';
    const times = [];
    const series = classes.map(() => []);
    rows.forEach((row, index) => {
      times.push(row.start / 1000);
      classes.forEach((_, c) => series[c].push(row.faceSeconds > 0 && row.shares ? row.shares[c] : null));
      const end = row.start + 1000 * (row.minute ? 60 : row.seconds);
      if (index + 1 < rows.length && rows[index + 1].start > end + INTERVAL_MS / 2) { // recording was off
        times.push(end / 1000);
        series.forEach((values) => values.push(null));
      }
    });
    this.plot = new uPlot({
      width: Math.max(280, this.ui.chart.clientWidth), height: 220,
      scales: {
        // Whole hours, so a day reads like a day; short records are shown as they are.
        x: { time: true, range: (_, low, high) => (high - low < 3600 ? [low, high] : [Math.floor(low / 3600) * 3600, Math.ceil(high / 3600) * 3600]) },
        y: { range: [0, 1] },
      },
      series: [{}, ...classes.map((name, index) => ({ label: name, stroke: COLOURS[index % COLOURS.length], width: 1.5, spanGaps: false }))],
      axes: [{}, { values: (_, values) => values.map((value) => `${Math.round(value * 100)}%`) }],
    }, [times, ...series], this.ui.chart);
  }

  showSummary(classes, rows) {
    const { seconds, faceSeconds, shares } = summarise(rows);
    const items = [Object.assign(document.createElement('li'), {
      className: 'total',
      textContent: rows.length ? `Recorded ${duration(seconds)}; a face in view ${Math.round((100 * faceSeconds) / seconds)}% of that time.` : '',
    })];
    (shares ?? []).forEach((share, index) => {
      const item = document.createElement('li');
      item.className = 'bar';
      item.append(classes[index], Object.assign(document.createElement('meter'), { min: 0, max: 1, value: share }),
        Object.assign(document.createElement('span'), { className: 'value', textContent: `${Math.round(share * 100)}%` }));
      items.push(item);
    });
    this.ui.summary.replaceChildren(...items);
  }
}
