// Types of Mien's component (mien.js, mien-camera.js): facial expressions found and read in any
// page, on the visitor's own device. The README's "Use Mien in your page" has the full story.

/** A TF.js backend: 'auto' lets Mien choose (WebGL on a real GPU, else WebAssembly). */
export type Backend = 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export declare const BACKENDS: readonly ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface MienOptions {
  /** Where mien.js's folder is served (its static/, vendor/ and models/). Default: mien.js's own folder. */
  base?: string | URL;
  /** The expression model's folder. Default: models/model/ under base; null: find faces only. */
  model?: string | URL | null;
  /** Default 'auto'. */
  backend?: Backend;
  /** Smooth boxes and scores over frames while watching. Default true. */
  smoothing?: boolean;
  /** Give each face its features and this frame's shipped scores (what personalise takes). Default false. */
  features?: boolean;
  /** How watched frames reach the worker: 'auto' (from the track where the browser can), 'track' or 'bitmap'. */
  frames?: 'auto' | 'track' | 'bitmap';
}

export declare const DEFAULTS: Readonly<Required<Omit<MienOptions, 'model'>> & { model: undefined }>;

/** A face: its box [x, y, width, height] in the source's own pixels (not mirrored), its top class and every class's probability. */
export interface Face {
  /** Stays with the same person from frame to frame while watching; 1, 2, ... in a picture. */
  id: number;
  box: [number, number, number, number];
  /** null without an expression model. */
  label: string | null;
  scores: Record<string, number>;
  /** With {features: true}: the network's penultimate features, and this frame's scores from the shipped model alone (both averaged over the face and its mirror image; for a moving face, one view of this frame and the other of the frame before). */
  features?: number[];
  frameScores?: Record<string, number>;
  /** Read with a profile: its name (true for an unnamed one). */
  profile?: string | true;
}

/** A person's profile: numbers only, never a picture. */
export interface Profile {
  format: 'mien-profile/1';
  name?: string;
  model: { sha256: string; classes: string[] };
  /** 'offset' when taught one expression, 'logit-correction' when taught more. */
  method: 'logit-correction' | 'offset';
  created: string;
  examples: Record<string, number>;
  skipped: number;
  strength: number;
  /** On examples it was not fitted on (held_out of them): the share it read right, and the shipped model's, each class weighing the same (the mean of each class's share); null with one example per class, or one class. */
  check: { held_out: number; personal: number; shipped: number } | null;
  /** null: the shipped model reads this person as well, and is kept. An offset has no weights. */
  correction: { weights?: number[][]; bias: number[] } | null;
}

export interface Analysis {
  faces: Face[];
  width: number;
  height: number;
  /** Milliseconds the worker took for this picture. */
  ms: number;
  /** Where those milliseconds went: read, detectorInput, detector, crops, classifier, rest (ms), and detectorPictures and classified (counts). */
  stages: Record<string, number>;
}

export interface WatchResult extends Analysis {
  source: 'camera' | 'video';
  /** Pictures analysed per second, and the median ms per picture, over the last 30. */
  fps: number;
  msPerFrame: number;
}

export interface MienError {
  message: string;
  /** What it is about: 'backend', 'model', 'camera' or 'analysis'. */
  topic: string;
}

export interface MienEventMap {
  result: CustomEvent<WatchResult>;
  error: CustomEvent<MienError>;
  backend: CustomEvent<{ name: string; description: string }>;
}

/** Something Mien can watch: a camera's (or any) MediaStream, or a <video> playing a camera or a file. */
export type Watchable = MediaStream | HTMLVideoElement;

/** Something Mien can analyse: one picture. */
export type Picture = HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageBitmap | VideoFrame | HTMLVideoElement | Blob | ImageData;

export declare class Mien extends EventTarget {
  /** Start Mien; rejects with an Error whose message is one sentence saying what went wrong and what to do. */
  static create(options?: MienOptions): Promise<Mien>;
  readonly options: Required<MienOptions>;
  readonly base: string;
  /** The expression model's class names, in output order; null when finding faces only. */
  readonly classes: string[] | null;
  readonly backend: 'webgpu' | 'webgl' | 'wasm' | 'cpu';
  /** The backend in words: the GPU's name, or WebAssembly's features. */
  readonly backendDescription: string;
  /** Why this backend, where it is not the one asked for (or a software GPU was passed over); else null. */
  readonly backendNote: string | null;
  /** The URL of the expression model in use, or null. */
  readonly model: string | null;
  /** Its weights' SHA-256, which a profile names it by. */
  readonly modelSha256: string | null;
  /** The profile in use, or null. */
  readonly profile: Profile | null;
  /** How watched frames reach the worker: 'track' or 'bitmap'; null when not watching. */
  readonly frameSource: 'track' | 'bitmap' | null;
  /** Resolves once analysis has started; results come as 'result' events. Never stops the caller's tracks. */
  watch(source: Watchable): Promise<void>;
  /** Stop watching (the caller's tracks go on). */
  stop(): void;
  /** All faces of one picture, at its full resolution. Dispatches nothing. */
  analyse(picture: Picture): Promise<Analysis>;
  setModel(url: string | URL | null): Promise<void>;
  /** Fit a profile from pictures or faces of results (with features); does not apply it. */
  personalise(examples: Record<string, Array<Picture | Face>>): Promise<Profile>;
  /** Read faces with `profile`, or with the shipped model alone (null). */
  useProfile(profile: Profile | null): Promise<void>;
  setBackend(name: Backend): Promise<void>;
  /** End the worker and free everything it holds. */
  dispose(): void;
  addEventListener<K extends keyof MienEventMap>(type: K, listener: (event: MienEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof MienEventMap>(type: K, listener: (event: MienEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** <mien-camera model="..." backend="..." smoothing="off" frames="...">: the camera with boxes and labels. */
export declare class MienCamera extends HTMLElement {
  /** The running Mien, once started. */
  readonly mien: Mien | null;
}

declare global {
  interface HTMLElementTagNameMap {
    'mien-camera': MienCamera;
  }
}
