// A picture's pixels, read once per frame, and the two ways the models look at them: shrunk
// whole into the detector's square, and cut into face crops for the expression model.
//
// A webcam frame is read as it comes (NV12 or I420 through WebCodecs' VideoFrame), which spares
// the browser converting the whole frame to RGB; other pictures are read as RGBA from a canvas.
// Resampling averages every source pixel an output pixel covers (a box filter, like OpenCV's
// INTER_AREA that prepared the training faces); outside the picture the edge pixels repeat.

// YUV to RGB: [Y offset, Y scale, V->R, U->G, V->G, U->B] per matrix and range.
const YUV_TO_RGB = {
  'bt601 limited': [16, 1.164, 1.596, -0.392, -0.813, 2.017],
  'bt601 full': [0, 1, 1.402, -0.344, -0.714, 1.772],
  'bt709 limited': [16, 1.164, 1.793, -0.213, -0.533, 2.112],
  'bt709 full': [0, 1, 1.575, -0.187, -0.468, 1.856],
};
const PACKED = { RGBA: [0, 1, 2], RGBX: [0, 1, 2], BGRA: [2, 1, 0], BGRX: [2, 1, 0] };
const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

/**
 * For each of `count` output pixels stepping `step` source pixels from `start`: the source pixels
 * it covers and how much, flat as [index, weight, index, weight, ...]; indices clamped to [0, size).
 */
function spans(start, step, count, size) {
  const result = [];
  for (let output = 0; output < count; output += 1) {
    const from = start + output * step;
    const to = from + step;
    const span = [];
    for (let pixel = Math.floor(from); pixel < to; pixel += 1) {
      const weight = Math.min(pixel + 1, to) - Math.max(pixel, from);
      if (weight > 0) span.push(clamp(pixel, 0, size - 1), weight);
    }
    result.push(span);
  }
  return result;
}

export class Pixels {
  /**
   * `planes`: for 'rgba' one array of packed pixels (`order` gives the R, G, B byte offsets);
   * for 'yuv' the Y plane and the half-size U and V planes (`chroma` steps between U/V samples:
   * 2 for NV12's interleaved plane, 1 for I420).
   */
  constructor({ width, height, kind, planes, strides, order = [0, 1, 2], chroma = 1, conversion = YUV_TO_RGB['bt601 limited'] }) {
    Object.assign(this, { width, height, kind, planes, strides, order, chroma, conversion });
  }

  /** Pixels of a canvas, image or video frame drawn into `context` (a 2D context, willReadFrequently). */
  static fromCanvas(context, source, width, height) {
    if (context.canvas.width !== width || context.canvas.height !== height) Object.assign(context.canvas, { width, height });
    context.drawImage(source, 0, 0, width, height);
    const { data } = context.getImageData(0, 0, width, height);
    return new Pixels({ width, height, kind: 'rgba', planes: [data], strides: [width * 4] });
  }

  /**
   * Pixels of a WebCodecs VideoFrame (a camera track's frame), read in its own layout without
   * converting it to RGB; null if the layout is one this code does not read. The caller closes
   * the frame.
   */
  static async fromVideoFrame(frame) {
    const { format, visibleRect: rect } = frame;
    if (!['NV12', 'I420', ...Object.keys(PACKED)].includes(format)) return null;
    const buffer = new Uint8Array(frame.allocationSize({ rect }));
    const layout = await frame.copyTo(buffer, { rect });
    const planes = layout.map(({ offset }, index) => buffer.subarray(offset, layout[index + 1]?.offset ?? buffer.length));
    const strides = layout.map(({ stride }) => stride);
    const size = { width: rect.width, height: rect.height };
    if (PACKED[format]) return new Pixels({ ...size, kind: 'rgba', planes, strides, order: PACKED[format] });
    const matrix = frame.colorSpace?.matrix === 'bt709' ? 'bt709' : 'bt601';
    const range = frame.colorSpace?.fullRange ? 'full' : 'limited';
    const chromaPlanes = format === 'NV12' ? [planes[1], planes[1].subarray(1)] : [planes[1], planes[2]];
    const chromaStrides = format === 'NV12' ? [strides[1], strides[1]] : [strides[1], strides[2]];
    return new Pixels({
      ...size, kind: 'yuv', planes: [planes[0], ...chromaPlanes], strides: [strides[0], ...chromaStrides],
      chroma: format === 'NV12' ? 2 : 1, conversion: YUV_TO_RGB[`${matrix} ${range}`],
    });
  }

  /**
   * The area (left, top, width, height) shrunk to `columns` x `rows` pixels: each output pixel is
   * the mean of the source pixels it covers, weighted by how much it covers them; outside the
   * picture the edge pixels repeat. Returns RGB values (0-255), Float32Array [rows*columns*3].
   */
  resize(left, top, width, height, columns, rows) {
    const out = new Float32Array(rows * columns * 3);
    const xs = spans(left, width / columns, columns, this.width);
    const ys = spans(top, height / rows, rows, this.height);
    const area = (width / columns) * (height / rows);
    if (this.kind === 'rgba') {
      const [data] = this.planes;
      const [stride] = this.strides;
      const [r, g, b] = this.order;
      for (let row = 0; row < rows; row += 1) {
        const ySpan = ys[row];
        for (let column = 0; column < columns; column += 1) {
          const xSpan = xs[column];
          let red = 0;
          let green = 0;
          let blue = 0;
          for (let j = 0; j < ySpan.length; j += 2) {
            const rowStart = ySpan[j] * stride;
            for (let i = 0; i < xSpan.length; i += 2) {
              const at = rowStart + xSpan[i] * 4;
              const weight = ySpan[j + 1] * xSpan[i + 1];
              red += weight * data[at + r];
              green += weight * data[at + g];
              blue += weight * data[at + b];
            }
          }
          const o = (row * columns + column) * 3;
          out[o] = red / area;
          out[o + 1] = green / area;
          out[o + 2] = blue / area;
        }
      }
      return out;
    }
    // YUV: Y at full size, U and V one sample per 2x2 pixels. Averages are linear, so each
    // plane is averaged alone and the means are converted to RGB.
    const [luma, u, v] = this.planes;
    const [lumaStride, uStride, vStride] = this.strides;
    const cxs = spans(left / 2, width / 2 / columns, columns, (this.width + 1) >> 1);
    const cys = spans(top / 2, height / 2 / rows, rows, (this.height + 1) >> 1);
    const [offset, scale, vToR, uToG, vToG, uToB] = this.conversion;
    for (let row = 0; row < rows; row += 1) {
      for (let column = 0; column < columns; column += 1) {
        let sumY = 0;
        const ySpan = ys[row];
        const xSpan = xs[column];
        for (let j = 0; j < ySpan.length; j += 2) {
          const rowStart = ySpan[j] * lumaStride;
          for (let i = 0; i < xSpan.length; i += 2) sumY += ySpan[j + 1] * xSpan[i + 1] * luma[rowStart + xSpan[i]];
        }
        let sumU = 0;
        let sumV = 0;
        const cySpan = cys[row];
        const cxSpan = cxs[column];
        for (let j = 0; j < cySpan.length; j += 2) {
          for (let i = 0; i < cxSpan.length; i += 2) {
            const weight = cySpan[j + 1] * cxSpan[i + 1];
            sumU += weight * u[cySpan[j] * uStride + cxSpan[i] * this.chroma];
            sumV += weight * v[cySpan[j] * vStride + cxSpan[i] * this.chroma];
          }
        }
        const meanY = scale * (sumY / area - offset);
        const meanU = (4 * sumU) / area - 128;
        const meanV = (4 * sumV) / area - 128;
        const o = (row * columns + column) * 3;
        out[o] = clamp(meanY + vToR * meanV, 0, 255);
        out[o + 1] = clamp(meanY + uToG * meanU + vToG * meanV, 0, 255);
        out[o + 2] = clamp(meanY + uToB * meanU, 0, 255);
      }
    }
    return out;
  }

  /**
   * An area of the picture (by default all of it: [left, top, width, height]) shrunk into a
   * `size` x `size` square, keeping its shape (the rest is `fill`), as RGB values mapped by `map`,
   * written into `into` (Float32Array, size*size*3 values from `offset`; a new one by default).
   * Returns {values: into, scale}.
   */
  letterbox(size, fill, map, [left, top, width, height] = [0, 0, this.width, this.height],
    into = new Float32Array(size * size * 3), offset = 0) {
    const scale = size / Math.max(width, height);
    const columns = Math.round(width * scale);
    const rows = Math.round(height * scale);
    const rgb = this.resize(left, top, width, height, columns, rows);
    into.fill(fill, offset, offset + size * size * 3);
    for (let row = 0; row < rows; row += 1) {
      const start = offset + row * size * 3;
      for (let i = 0; i < columns * 3; i += 1) into[start + i] = map(rgb[row * columns * 3 + i]);
    }
    return { values: into, scale };
  }

  /** The whole picture shrunk to `columns` x `rows` grey values (0-255): a thumbnail to compare frames by. */
  grayThumbnail(columns, rows) {
    return this.grayResize(0, 0, this.width, this.height, columns, rows);
  }

  /** The area shrunk to `columns` x `rows` grey values (0-255, weighted as OpenCV's grayscale). */
  grayResize(left, top, width, height, columns, rows) {
    const rgb = this.resize(left, top, width, height, columns, rows);
    const gray = new Float32Array(columns * rows);
    for (let i = 0; i < gray.length; i += 1) gray[i] = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
    return gray;
  }

  /**
   * The square (left, top, side) shrunk to `size` x `size` grey values (0-255, weighted as
   * OpenCV's grayscale), turned by `roll` (radians) about its centre, written into `into` at
   * `offset`. Turned, as pipeline.faces.crop.turned_crop turns it: the square around the turned
   * one shrunk by averaging (never enlarged) to at most twice the output's resolution, sampled
   * bilinearly at twice the output's resolution, and each 2x2 of samples averaged.
   */
  grayCrop([left, top, side], size, into, offset, roll = 0) {
    if (!roll) {
      into.set(this.grayResize(left, top, side, side, size, size), offset);
      return;
    }
    const [cos, sin] = [Math.cos(roll), Math.sin(roll)];
    const [centreX, centreY] = [left + side / 2, top + side / 2];
    const around = Math.round(side * (Math.abs(cos) + Math.abs(sin)));
    const [outerLeft, outerTop] = [Math.round(centreX - around / 2), Math.round(centreY - around / 2)];
    const shrunkSide = Math.min(around, Math.round(2 * size * (Math.abs(cos) + Math.abs(sin))));
    const shrunk = this.grayResize(outerLeft, outerTop, around, around, shrunkSide, shrunkSide);
    const factor = shrunkSide / around;
    const limit = shrunkSide - 1;
    const at = (x, y) => shrunk[clamp(y, 0, limit) * shrunkSide + clamp(x, 0, limit)];
    into.fill(0, offset, offset + size * size);
    for (let row = 0; row < 2 * size; row += 1) {
      const dy = ((row + 0.5 - size) * side) / (2 * size);
      for (let column = 0; column < 2 * size; column += 1) {
        const dx = ((column + 0.5 - size) * side) / (2 * size);
        const x = (centreX - outerLeft + cos * dx - sin * dy) * factor - 0.5;
        const y = (centreY - outerTop + sin * dx + cos * dy) * factor - 0.5;
        const [x0, y0] = [Math.floor(x), Math.floor(y)];
        const [fx, fy] = [x - x0, y - y0];
        const sample = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
        into[offset + (row >> 1) * size + (column >> 1)] += sample / 4;
      }
    }
  }
}

/** Block means of a `size` x `size` grey square (e.g. a face crop) as a `blocks` x `blocks` thumbnail. */
export function blockMeans(values, size, blocks) {
  const step = size / blocks;
  const means = new Float32Array(blocks * blocks);
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) means[Math.floor(y / step) * blocks + Math.floor(x / step)] += values[y * size + x];
  }
  return means.map((sum) => sum / (step * step));
}

/** The largest difference between two thumbnails' blocks (grey levels): how much a picture changed. */
export function largestChange(a, b) {
  let largest = 0;
  for (let i = 0; i < a.length; i += 1) largest = Math.max(largest, Math.abs(a[i] - b[i]));
  return largest;
}

/**
 * The pixels of a VideoFrame, ImageBitmap, canvas or video (its current frame), read once;
 * `context` is a 2D context (willReadFrequently) for the pictures that must be drawn to be read.
 */
export async function readPixels(source, context) {
  const isFrame = typeof VideoFrame !== 'undefined' && source instanceof VideoFrame;
  const isVideo = typeof HTMLVideoElement !== 'undefined' && source instanceof HTMLVideoElement;
  if (isFrame || (isVideo && typeof VideoFrame !== 'undefined')) {
    const frame = isFrame ? source : new VideoFrame(source);
    try {
      const pixels = await Pixels.fromVideoFrame(frame);
      if (pixels) return pixels;
    } finally {
      if (frame !== source) frame.close();
    }
  }
  const width = source.displayWidth ?? source.videoWidth ?? source.width;
  const height = source.displayHeight ?? source.videoHeight ?? source.height;
  return Pixels.fromCanvas(context, source, width, height);
}
