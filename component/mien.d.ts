// Types of mien.js (the package's main export, 'mien-expressions'): facial expressions found and
// read in any page, on the visitor's own device. <mien-camera> has its own, mien-camera.d.ts
// ('mien-expressions/camera'). The README's "Use Mien in your page" has the full story.

/** A TF.js backend: 'auto' lets Mien choose (WebGL on a real GPU, else WebAssembly). */
export type Backend = 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** The backends Mien can run on, in the order 'auto' prefers them. */
export declare const BACKENDS: readonly ['webgpu', 'webgl', 'wasm', 'cpu'];
/** The longest side analyse reads a picture at (4096): a larger one is shrunk to it first, its faces' boxes given in its own pixels. */
export declare const MAX_PICTURE_SIDE: number;

/** What a MienError is about. */
export type MienErrorTopic = 'backend' | 'model' | 'camera' | 'analysis' | 'csp' | 'worker' | 'disposed' | 'argument';

/**
 * What every method of Mien rejects with, and every 'error' event carries as its detail: a
 * message of one sentence saying what went wrong and what to do, and its topic.
 */
export declare class MienError extends Error {
  readonly name: 'MienError';
  readonly topic: MienErrorTopic;
  constructor(message: string, topic: MienErrorTopic);
}

export interface MienOptions {
  /** The expression model's folder URL. Default (undefined): the model packed with the component; null: find faces only. */
  model?: string | URL | null | undefined;
  /** Default 'auto'. */
  backend?: Backend;
  /** Smooth boxes and scores over frames while watching. Default true. */
  smoothing?: boolean;
  /** Give each face its features and this frame's shipped scores (what personalise takes). Default false. */
  features?: boolean;
  /** How watched frames reach the worker: 'auto' (the best way this browser has), 'track' (the page reads the track), 'worker' (the worker does) or 'bitmap' (posted as shown). Default 'auto'. */
  frames?: 'auto' | 'track' | 'worker' | 'bitmap';
}

/** Mien.create's options as a Mien holds them: the defaults, overridden by those given; a model's URL made its folder's. */
export type MienSettings = Readonly<Required<Omit<MienOptions, 'model'>> & { model?: string | null | undefined }>;

/** Every option's default. */
export declare const DEFAULTS: {
  readonly model: undefined;
  readonly backend: 'auto';
  readonly smoothing: true;
  readonly features: false;
  readonly frames: 'auto';
};

/** A face: its box [x, y, width, height] in the source's own pixels (not mirrored), its top class and every class's probability. */
export interface Face {
  /** Stays with the same person from frame to frame while watching; 1, 2, ... in a picture. */
  id: number;
  box: [number, number, number, number];
  /** null without an expression model. */
  label: string | null;
  /** Each class's probability; empty without an expression model. */
  scores: Record<string, number>;
  /** With {features: true}: the network's penultimate features (averaged over the face and its mirror image; for a moving face, one view of this frame and the other of the frame before). */
  features?: number[];
  /** With {features: true}: this frame's scores from the shipped model alone, before smoothing and any profile. */
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
  /** When it was fitted (ISO 8601). */
  created: string;
  /** How many examples of each class it was fitted on. */
  examples: Record<string, number>;
  /** Pictures given without a face. */
  skipped: number;
  strength: number;
  /** On examples it was not fitted on (held_out of them): the share it read right, and the shipped model's, each class weighing the same (the mean of each class's share); null with one example per class, or one class. */
  check: { held_out: number; personal: number; shipped: number } | null;
  /**
   * The check every profile passes before it is used: whether it did (if not, it holds no correction and the
   * shipped model reads the person), why, the classes to teach more of, and the sentence that says so. Absent from
   * profiles made before every profile was checked.
   */
  verdict?: {
    passed: boolean;
    /** held-out: read faces it was not fitted on better; no-better: did not; already-right: the shipped model read every taught face right; one-each: one example of each, none left to check on; offset / offset-too-far: one expression, its offset within the model's limit or beyond it; no-reference: the model has no reference for one expression. */
    reason: 'held-out' | 'no-better' | 'already-right' | 'one-each' | 'offset' | 'offset-too-far' | 'no-reference';
    add: string[];
    sentence: string;
  };
  /** null: the check refused it, and the shipped model is kept. An offset has no weights. */
  correction: { weights?: number[][]; bias: number[] } | null;
}

/** Where the worker's milliseconds went for one picture, and how much it ran. */
export interface Stages {
  /** Reading the picture's pixels (ms). */
  read: number;
  /** Preparing the detector's inputs: resizing the areas it searches (ms). */
  detectorInput: number;
  /** The detector's runs with their read-backs (ms). */
  detector: number;
  /** Cutting the faces out (ms). */
  crops: number;
  /** The expression model's run (ms). */
  classifier: number;
  /** Areas the detector searched in this picture. */
  detectorPictures: number;
  /** Faces that went through the expression model. */
  classified: number;
  /** Their views (a face, its mirror image) that ran. */
  classifierViews: number;
  /** Everything else: tracking, smoothing, describing the faces (ms). */
  rest: number;
}

/** All faces of one picture. */
export interface AnalysisResult {
  faces: Face[];
  width: number;
  height: number;
  /** Milliseconds the worker took for this picture. */
  ms: number;
  stages: Stages;
}

/** One watched frame's faces: the detail of a 'result' event. */
export interface WatchResult extends AnalysisResult {
  /** 'camera' for a MediaStream or a <video> playing one, 'video' for a <video> playing a file. */
  source: 'camera' | 'video';
  /** Pictures analysed per second over the last 30. */
  fps: number;
  /** The median milliseconds per picture over the last 30. */
  msPerFrame: number;
}

/** The detail of an 'ended' event: what was watched ended or lost its source, and Mien stopped watching it. */
export interface EndedDetail {
  source: 'camera' | 'video';
  message: string;
}

/** The detail of a 'backend' event: the backend changed by itself (the GPU's context was lost). */
export interface BackendDetail {
  name: 'webgpu' | 'webgl' | 'wasm' | 'cpu';
  description: string;
}

export interface MienEventMap {
  /** Every watched frame's faces. */
  result: CustomEvent<WatchResult>;
  /** A failure while watching (a frame that failed, the GPU's context lost...). */
  error: CustomEvent<MienError>;
  backend: CustomEvent<BackendDetail>;
  ended: CustomEvent<EndedDetail>;
}

/** Something Mien can watch: a camera's (or any) MediaStream, or a <video> playing a camera or a file. */
export type Watchable = MediaStream | HTMLVideoElement;

/** Something Mien can analyse: one picture (an image, canvas, ImageBitmap, VideoFrame, video, Blob or ImageData). */
export type Picture = ImageBitmapSource;

export declare class Mien extends EventTarget {
  private constructor();
  /** Start Mien: its worker, the backend and the models. Rejects with a MienError. */
  static create(options?: MienOptions): Promise<Mien>;
  readonly options: MienSettings;
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
  /** How watched frames reach the worker (see the frames option); null when not watching. */
  readonly frameSource: 'track' | 'worker' | 'bitmap' | null;
  /** Resolves once analysis has started; results come as 'result' events. Never stops the caller's tracks. Rejects with a MienError. */
  watch(source: Watchable): Promise<void>;
  /** Stop watching (the caller's tracks go on). */
  stop(): void;
  /** All faces of one picture, at its full resolution up to MAX_PICTURE_SIDE. Dispatches nothing. Rejects with a MienError. */
  analyse(picture: Picture): Promise<AnalysisResult>;
  /** Use the model in the folder at `url` (undefined: the packed one; null: faces only). Rejects with a MienError. */
  setModel(url?: string | URL | null): Promise<void>;
  /** Fit a profile from pictures, or faces of results of a Mien created with {features: true}; does not apply it. Rejects with a MienError. */
  personalise(examples: Record<string, Iterable<Picture | Face>>): Promise<Profile>;
  /** Read faces with `profile`, or with the shipped model alone (null). Rejects with a MienError. */
  useProfile(profile: Profile | null): Promise<void>;
  /** Rejects with a MienError. */
  setBackend(name: Backend): Promise<void>;
  /** End the worker and free everything it holds; what was pending rejects with a MienError of topic 'disposed'. */
  dispose(): void;
  addEventListener<K extends keyof MienEventMap>(type: K, listener: (this: Mien, event: MienEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof MienEventMap>(type: K, listener: (this: Mien, event: MienEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
