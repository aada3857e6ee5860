// Types of mien-camera.js ('mien-expressions/camera'): <mien-camera>, the camera with a box, a label
// and bars for every face, for pages without code. Importing it defines the element.

import type { Mien, MienError, WatchResult } from './mien.js';

/** The events <mien-camera> dispatches; both bubble out of it (composed), to the document. */
export interface MienCameraEventMap extends Omit<HTMLElementEventMap, 'error'> {
  /** Every watched frame's faces, as Mien's 'result' event. */
  result: CustomEvent<WatchResult>;
  /** What went wrong (camera denied, model missing...): the same detail as Mien's 'error' event. */
  error: CustomEvent<MienError>;
}

/** <mien-camera model="..." backend="..." smoothing="off" frames="...">: its attributes mirror Mien.create's options. */
export declare class MienCamera extends HTMLElement {
  /** The running Mien, once started; null before and after. */
  readonly mien: Mien | null;
  addEventListener<K extends keyof MienCameraEventMap>(type: K, listener: (this: MienCamera, event: MienCameraEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof MienCameraEventMap>(type: K, listener: (this: MienCamera, event: MienCameraEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'mien-camera': MienCamera;
  }
  /**
   * A 'result' bubbling from a <mien-camera> reaches its ancestors typed. (Its 'error' does too,
   * but the DOM's own types name every element's 'error' an ErrorEvent: listen on the element,
   * or read `(event as CustomEvent<MienError>).detail` there.)
   */
  interface HTMLElementEventMap {
    result: CustomEvent<WatchResult>;
  }
  interface DocumentEventMap {
    result: CustomEvent<WatchResult>;
  }
}
