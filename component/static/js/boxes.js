// Boxes are [x, y, width, height] in picture pixels.

/** Intersection over union of two boxes: 0 when apart, 1 when the same. */
export function overlap(a, b) {
  const x1 = Math.max(a[0], b[0]);
  const y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y2 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  return inter / (a[2] * a[3] + b[2] * b[3] - inter || 1);
}

/** The face a picture or a frame is about, its subject: the one of `faces` ([{box, ...}]) whose box is largest (first of equals). */
export function largest(faces) {
  return faces.reduce((a, b) => (b.box[2] * b.box[3] > a.box[2] * a.box[3] ? b : a));
}
