// "Teach Mien your face": a guided flow on the component's API (personalise, useProfile) that
// collects a few seconds of each of the model's expressions from the camera, fits a personal
// profile on the device, shows it against the shipped model, and keeps it (profiles.js). The
// profiles of this browser can then be chosen, renamed, deleted, exported and imported.

import { personalScores } from '/static/js/personal.js';
import { NAME_LENGTH, ProfileStore, keptName, readProfileFile } from './profiles.js';
import { askToKeep } from './storage.js';

const COUNTDOWN_S = 3;
const COLLECT_S = 3;
// What a resting face read as these does to a mood record: a calm day recorded as a gloomy one.
const GLOOMY = ['angry', 'sad'];

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const article = (name) => (/^[aeiou]/i.test(name) ? 'an' : 'a');
const percent = (share) => `${(100 * share).toFixed(1)}%`;

function download(name, text) {
  const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(new Blob([text], { type: 'application/json' })), download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

export class TeachSection {
  /**
   * `mien()`: the page's Mien; `live()`: whether the camera runs; `say(text, kind)`: a message on
   * the page (null: none); `onChange()`: the profile in use changed (the component's `profile`, its one owner).
   */
  constructor({ mien, live, say, onChange }) {
    Object.assign(this, { mien, live, say, onChange });
    this.store = new ProfileStore();
    this.ui = {
      start: $('teach-start'), resting: $('teach-resting'), flow: $('teach-flow'), prompt: $('teach-prompt'), steps: $('teach-steps'),
      check: $('teach-check'), name: $('teach-name'), save: $('teach-save'), discard: $('teach-discard'),
      select: $('profile-select'), rename: $('profile-rename'), remove: $('profile-delete'),
      exportButton: $('profile-export'), importInput: $('profile-import'),
    };
    this.examples = {};
    this.fitted = null;
    this.wire();
  }

  wire() {
    const { ui } = this;
    ui.start.addEventListener('click', () => this.teach());
    ui.resting.addEventListener('click', () => this.teach(['neutral']));
    ui.save.addEventListener('click', () => this.save());
    ui.discard.addEventListener('click', () => this.close());
    ui.select.addEventListener('change', () => this.choose(ui.select.value ? Number(ui.select.value) : null));
    ui.rename.addEventListener('click', async () => {
      const chosen = await this.chosen();
      const name = chosen && keptName(window.prompt(`A new name for this profile (at most ${NAME_LENGTH} characters):`, chosen.name) ?? '');
      if (!name) return;
      await this.store.rename(chosen.id, name);
      await this.choose(chosen.id); // the faces, the record and the list read the new name from now on
    });
    ui.remove.addEventListener('click', async () => {
      const chosen = await this.chosen();
      if (!chosen || !window.confirm(`Delete the profile "${chosen.name}"? This cannot be undone.`)) return;
      await this.store.remove(chosen.id);
      await this.choose(null);
    });
    ui.exportButton.addEventListener('click', async () => {
      const chosen = await this.chosen();
      if (chosen) download(`mien-profile-${keptName(chosen.name).replace(/[^\w-]+/g, '_')}.json`, JSON.stringify({ ...chosen, id: undefined }, null, 1));
    });
    ui.importInput.addEventListener('change', async () => {
      const [file] = ui.importInput.files;
      ui.importInput.value = '';
      if (!file) return;
      try {
        const { profile, trimmed } = await readProfileFile(file);
        // One for this model is tried before it is kept: the model knows the shapes its correction must have.
        if (this.fits(profile)) await this.mien().useProfile(profile).catch((error) => { throw new Error(`${file.name}: ${error.message}`); });
        const id = await this.store.add(profile);
        askToKeep(); // a kept profile is worth keeping from eviction (storage.js)
        this.say(trimmed ? `The profile's name was longer than ${NAME_LENGTH} characters: it is kept as "${profile.name}".` : null, 'info');
        await this.choose(id);
      } catch (error) {
        this.say(error.message);
      }
    });
  }

  /** Read faces with `profile` (null: the shipped model), and tell the page. */
  async use(profile) {
    await this.mien().useProfile(profile);
    this.onChange();
  }

  /** The profile chosen in the list, or null. */
  async chosen() {
    return this.ui.select.value ? this.store.get(Number(this.ui.select.value)) : null;
  }

  /** Read faces with the kept profile `id` (null: the shipped model). */
  async choose(id) {
    const profile = id === null ? null : await this.store.get(id);
    try {
      await this.use(profile);
    } catch (error) {
      this.say(error.message);
      await this.use(null);
    }
    await this.refresh();
  }

  /** Whether `profile` was made for the model in use. */
  fits(profile) {
    const mien = this.mien();
    return Boolean(mien?.classes) && JSON.stringify(profile.model?.classes) === JSON.stringify(mien.classes)
      && profile.model.sha256 === mien.modelSha256;
  }

  /** The list of kept profiles: this model's can be chosen; others are kept, not offered. */
  async refresh() {
    const { ui } = this;
    const mien = this.mien();
    const inUse = mien?.profile?.id ?? '';
    const profiles = await this.store.all();
    // A profile made before every profile was checked has no verdict: it is offered, marked so.
    const label = (profile) => `${keptName(profile.name)}${!this.fits(profile) ? ' (for another model)' : (profile.verdict ? '' : ' (unchecked)')}`;
    ui.select.replaceChildren(new Option('none (the shipped model)', ''), ...profiles.map((profile) => Object.assign(
      new Option(label(profile), profile.id), { disabled: !this.fits(profile) },
    )));
    ui.select.value = String(inUse);
    ui.resting.hidden = !mien?.classes?.includes('neutral');
    const others = profiles.filter((profile) => !this.fits(profile)).length;
    for (const control of [ui.rename, ui.remove, ui.exportButton]) control.disabled = !ui.select.value;
    return others;
  }

  /**
   * The guided flow: for each class (or those `named`) a prompt, a countdown and a few seconds of
   * faces, then the fit. A resting face alone makes an offset profile (personal.js).
   */
  async teach(named = null) {
    const mien = this.mien();
    if (!this.live() || !mien?.classes) {
      this.say('Start the camera first: Mien learns your face from a few seconds of each expression.', 'info');
      return;
    }
    this.examples = {};
    this.fitted = null;
    await this.use(null); // learn from the shipped model's readings
    this.ui.flow.hidden = false;
    this.ui.start.disabled = this.ui.resting.disabled = true;
    this.ui.check.textContent = '';
    this.ui.save.disabled = true;
    for (const name of named ?? mien.classes) await this.collect(name);
    await this.fit();
    this.ui.start.disabled = this.ui.resting.disabled = false;
  }

  /** A few seconds of `name`: the main face's features, from frames where one face is found. */
  async collect(name) {
    const { ui } = this;
    const mien = this.mien();
    for (let second = COUNTDOWN_S; second > 0; second -= 1) {
      ui.prompt.textContent = `Show ${article(name)} ${name} face… ${second}`;
      await sleep(1000);
    }
    ui.prompt.textContent = `Hold ${article(name)} ${name} face.`;
    const faces = [];
    const take = ({ detail }) => { if (detail.faces.length === 1 && detail.faces[0].features) faces.push(detail.faces[0]); };
    mien.addEventListener('result', take);
    await sleep(COLLECT_S * 1000);
    mien.removeEventListener('result', take);
    this.examples[name] = faces;
    this.showSteps();
  }

  showSteps() {
    const { ui } = this;
    ui.steps.replaceChildren(...Object.entries(this.examples).map(([name, faces]) => {
      const item = document.createElement('li');
      const redo = Object.assign(document.createElement('button'), { type: 'button', className: 'quiet', textContent: `Redo ${name}` });
      redo.addEventListener('click', async () => {
        redo.disabled = true;
        await this.collect(name);
        await this.fit();
      });
      item.append(`${name}: ${faces.length ? `${faces.length} frames` : 'no clear face; redo it'} `, redo);
      return item;
    }));
  }

  /** Fit a profile to what was collected, use it, and show how it reads the collected faces. */
  async fit() {
    const { ui } = this;
    const mien = this.mien();
    const examples = Object.fromEntries(Object.entries(this.examples).filter(([, faces]) => faces.length));
    ui.prompt.textContent = 'Fitting your profile…';
    try {
      this.fitted = await mien.personalise(examples);
    } catch (error) {
      ui.prompt.textContent = error.message;
      return;
    }
    const { correction, verdict } = this.fitted;
    // The check's verdict: used or not, why, and what to teach it (personal.js).
    ui.prompt.textContent = correction ? `${verdict.sentence} Look at the camera and see how it reads you (the faces list shows the shipped model too).` : verdict.sentence;
    const resting = Object.keys(examples).join() === 'neutral' ? await this.restingShares(examples.neutral) : null;
    ui.check.textContent = !resting ? ''
      : (correction && resting.personal !== null
        ? `Of ${resting.held} resting frames it was not fitted on, read as ${resting.gloomy.join(' or ')}: ${percent(resting.shipped)} by the shipped model, ${percent(resting.personal)} with your profile.`
        : `Of ${resting.held} resting frames, read as ${resting.gloomy.join(' or ')} by the shipped model: ${percent(resting.shipped)}.`);
    await this.use(correction ? { ...this.fitted, name: 'new profile' } : null);
    ui.name.value ||= `Profile ${new Date().toLocaleDateString()}`;
    ui.save.disabled = false;
  }

  /**
   * The resting face as the mood record lives with it: an offset fitted on every other one of the
   * neutral `frames`, and the share of the frames between read as angry or sad by the shipped
   * model and with it (null where the check refuses that offset). Null with fewer than two frames
   * or no such class.
   */
  async restingShares(frames) {
    const mien = this.mien();
    const gloomy = GLOOMY.filter((name) => mien.classes.includes(name));
    const held = frames.filter((_, index) => index % 2 === 1);
    if (!held.length || !gloomy.length) return null;
    const half = await mien.personalise({ neutral: frames.filter((_, index) => index % 2 === 0) });
    const shares = [null, half].map((profile) => profile && !profile.correction ? null : held.filter((face) => {
      const read = Array.from(personalScores(profile, mien.classes.map((name) => face.frameScores[name]), face.features));
      return gloomy.includes(mien.classes[read.indexOf(Math.max(...read))]);
    }).length / held.length);
    return { held: held.length, gloomy, shipped: shares[0], personal: shares[1] };
  }

  async save() {
    const id = await this.store.add({ ...this.fitted, name: keptName(this.ui.name.value) || 'my profile' });
    askToKeep();
    this.close();
    await this.choose(id);
  }

  close() {
    this.ui.flow.hidden = true;
    this.ui.start.disabled = this.ui.resting.disabled = false;
    this.fitted = null;
    this.choose(this.ui.select.value ? Number(this.ui.select.value) : null);
  }
}
