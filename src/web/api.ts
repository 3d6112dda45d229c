// The gallery's calls to `immich serve` (same origin; the session cookie goes along by itself).
import type { TimelineAsset } from '../services/gallery.js';

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Called when a request is answered 401 (the session ended): the app shows the login form. */
export let onUnauthorized: () => void = () => {};
export function setOnUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`/api${path}`, {
    method: init.method ?? 'GET',
    headers: init.body !== undefined ? { 'content-type': 'application/json' } : {},
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    credentials: 'same-origin',
  });
  if (res.status === 401 && path !== '/auth/login') onUnauthorized();
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    throw new HttpError(res.status, body.message ?? res.statusText);
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export interface Bucket {
  timeBucket: string;
  count: number;
}

/** The timeline's asset as the server sends it (one type for both sides; a type import costs the bundle nothing). */
export type Asset = TimelineAsset;

export interface AssetDetails extends Asset {
  originalName: string;
  mimeType: string;
  fileSize: number;
  exif: Record<string, string | number | null>;
  place: { city: string | null; state: string | null; country: string | null; latitude: number | null; longitude: number | null };
  people: Array<{ id: string; name: string }>;
  albums: Array<{ id: string; name: string }>;
}

export interface Album {
  id: string;
  albumName: string;
  description: string;
  assetCount: number;
  albumThumbnailAssetId: string | null;
  assets: Asset[];
}

export interface Person {
  id: string;
  name: string;
  faces: number;
  assets: number;
  thumbnailAssetId: string | null;
}

export type Filter = 'timeline' | 'archive' | 'favorites' | 'trash';

export const thumbUrl = (id: string) => `/api/assets/${id}/thumbnail`;
export const previewUrl = (id: string) => `/api/assets/${id}/thumbnail?size=preview`;
export const originalUrl = (id: string) => `/api/assets/${id}/original`;
export const videoUrl = (id: string) => `/api/assets/${id}/video/playback`;
