import { fileURLToPath } from 'node:url';

/** The checkout Warren runs from: templates, the runner bundle and the image recipe live here. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
