// Keeps each face's identity from frame to frame (by box overlap) and smooths its box and class
// scores over recent frames, so that labels do not flicker. Its numbers are face-finder.json's
// "smoothing", beside the face finder's.

import { overlap } from './boxes.js';

const blend = (old, fresh, keep) => old.map((value, i) => keep * value + (1 - keep) * fresh[i]);

export class FaceTracker {
  /**
   * `smoothing`: face-finder.json's (match_iou: the overlap by which a face is the one seen before;
   * keep_scores and keep_box: the share of the previous value kept each frame; max_missed: the
   * frames a face may go unseen before it is forgotten).
   */
  constructor({ match_iou: matchIou, keep_scores: keepScores, keep_box: keepBox, max_missed: maxMissed }) {
    Object.assign(this, { matchIou, keepScores, keepBox, maxMissed });
    this.tracks = [];
    this.nextId = 1;
  }

  /** Take this frame's faces ([{box, scores, ...}]) and return the smoothed faces in view, each
   * with its id and this frame's face as it came (`frame`). */
  update(faces) {
    const pairs = [];
    this.tracks.forEach((track, t) => faces.forEach((face, f) => {
      const iou = overlap(track.box, face.box);
      if (iou >= this.matchIou) pairs.push([iou, t, f]);
    }));
    pairs.sort((a, b) => b[0] - a[0]);
    const usedTracks = new Set();
    const usedFaces = new Set();
    for (const [, t, f] of pairs) {
      if (usedTracks.has(t) || usedFaces.has(f)) continue;
      usedTracks.add(t);
      usedFaces.add(f);
      const track = this.tracks[t];
      track.box = blend(track.box, faces[f].box, this.keepBox);
      track.scores = track.scores && faces[f].scores ? blend(track.scores, faces[f].scores, this.keepScores) : faces[f].scores;
      track.frame = faces[f]; // this frame's face, unsmoothed
      track.missed = 0;
    }
    this.tracks.forEach((track, t) => { if (!usedTracks.has(t)) track.missed += 1; });
    this.tracks = this.tracks.filter((track) => track.missed <= this.maxMissed);
    faces.forEach((face, f) => {
      if (!usedFaces.has(f)) this.tracks.push({ id: this.nextId++, box: [...face.box], scores: face.scores, frame: face, missed: 0 });
    });
    return this.tracks.filter((track) => track.missed === 0);
  }

  reset() {
    this.tracks = [];
  }
}
