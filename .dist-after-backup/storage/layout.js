// Library folder layout (UPLOAD_LOCATION): uploads/ originals, thumbs/ thumbnails and previews,
// encoded/ transcoded video, backups/ default backup repository, database/ embedded PostgreSQL.
import fs from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';
export const LIBRARY_FOLDERS = ['uploads', 'thumbs', 'encoded', 'backups'];
export class Library {
    root;
    constructor(root) {
        this.root = root;
    }
    folder(name) {
        return path.join(this.root, name);
    }
    /** Make sure the library folders exist and are writable. */
    ensure() {
        try {
            for (const f of [...LIBRARY_FOLDERS, 'tmp'])
                fs.mkdirSync(this.folder(f), { recursive: true });
            fs.accessSync(this.root, fs.constants.W_OK);
        }
        catch (err) {
            throw new EnvironmentError(`library folder ${this.root} is not writable: ${err.message}`);
        }
    }
    /** Absolute path of a library-relative path; absolute paths (in-place files) pass through. */
    resolve(p) {
        return path.isAbsolute(p) ? p : path.join(this.root, p);
    }
    /** Library-relative form of an absolute path inside the library. */
    relative(abs) {
        return path.relative(this.root, abs);
    }
    /** Derived files are sharded by asset id like Immich: thumbs/ab/cd/<id>-thumbnail.webp */
    derivedPath(folder, assetId, suffix) {
        return path.join(folder, assetId.slice(0, 2), assetId.slice(2, 4), `${assetId}${suffix}`);
    }
}
//# sourceMappingURL=layout.js.map