// Drawing each face on the overlay canvas: its box, its top expression and a bar per class.
// The canvas has the picture's own size; with a mirrored preview, boxes are mirrored, text is not.

const BOX = '#40c463';
const PANEL = 'rgba(17, 21, 26, 0.78)';
const BAR = '#2f7de1';
const BAR_TRACK = 'rgba(255, 255, 255, 0.18)';

export function clearOverlay(canvas) {
  canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
}

/** Draw `faces` ([{box, label, scores: {name: p}}]) over a picture of `width` x `height`. */
export function drawFaces(canvas, faces, { width, height, mirrored }) {
  if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
  const context = canvas.getContext('2d');
  context.clearRect(0, 0, width, height);
  const unit = Math.max(1, Math.min(width, height) / 480);
  context.font = `${Math.round(13 * unit)}px system-ui, sans-serif`;
  context.textBaseline = 'middle';
  for (const face of faces) {
    const [boxX, y, w, h] = face.box;
    const x = mirrored ? width - boxX - w : boxX;
    context.lineWidth = 3 * unit;
    context.strokeStyle = BOX;
    context.strokeRect(x, y, w, h);
    if (!face.label) continue;
    const title = `${face.label} ${Math.round(100 * face.scores[face.label])}%${face.profile ? ` · ${face.profile === true ? 'your profile' : face.profile}` : ''}`;
    const titleHeight = 20 * unit;
    context.fillStyle = BOX;
    context.fillRect(x - 1.5 * unit, Math.max(0, y - titleHeight), context.measureText(title).width + 10 * unit, titleHeight);
    context.fillStyle = '#000';
    context.fillText(title, x + 4 * unit, Math.max(0, y - titleHeight) + titleHeight / 2);
    drawBars(context, face.scores, x, y, w, unit, width);
  }
}

function drawBars(context, scores, x, y, w, unit, width) {
  const names = Object.keys(scores);
  const labelWidth = Math.max(...names.map((name) => context.measureText(name).width));
  const barWidth = 70 * unit;
  const row = 17 * unit;
  const panelWidth = labelWidth + barWidth + 18 * unit;
  const left = x + w + 6 * unit + panelWidth <= width ? x + w + 6 * unit : Math.max(0, x - panelWidth - 6 * unit);
  context.fillStyle = PANEL;
  context.fillRect(left, y, panelWidth, row * names.length + 6 * unit);
  names.forEach((name, index) => {
    const middle = y + 3 * unit + row * index + row / 2;
    context.fillStyle = '#fff';
    context.fillText(name, left + 6 * unit, middle);
    const barLeft = left + labelWidth + 12 * unit;
    context.fillStyle = BAR_TRACK;
    context.fillRect(barLeft, middle - 4 * unit, barWidth, 8 * unit);
    context.fillStyle = BAR;
    context.fillRect(barLeft, middle - 4 * unit, barWidth * scores[name], 8 * unit);
  });
}
