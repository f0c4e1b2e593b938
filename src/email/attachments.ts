// An attachment named by an event: the rendered path must be absolute and,
// once every symlink is resolved, inside one of the configured folders; the
// file is read here, size-capped, and handed to the mailer as bytes, so the
// mailer never opens a path itself.

import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { basename, isAbsolute, relative } from 'node:path';

export type AttachmentRead =
  | { readonly ok: true; readonly content: Buffer; readonly filename: string }
  | { readonly ok: false; readonly problem: string };

/** Whether `path` (resolved) is inside `folder` (resolved), not the folder itself. */
function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** The configured folders with their symlinks resolved (a missing folder allows nothing). */
async function resolvedFolders(folders: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const folder of folders) {
    try {
      out.push(await realpath(folder));
    } catch {
      // A folder that does not exist holds no file to attach.
    }
  }
  return out;
}

/** Reads the file at `path` when it is allowed and at most `maxBytes` long; else says why not. */
export async function readAttachment(path: string, folders: readonly string[], maxBytes: number): Promise<AttachmentRead> {
  const shown = JSON.stringify(path);
  if (!isAbsolute(path)) return { ok: false, problem: `the attachment path ${shown} is not absolute (check the attachment's path template)` };
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return { ok: false, problem: `the attachment ${shown} does not exist or cannot be read` };
  }
  const allowed = await resolvedFolders(folders);
  if (!allowed.some((folder) => inside(folder, real))) {
    return { ok: false, problem: `the attachment ${shown} is outside the folders of attachments_from (${folders.join(', ')}); it was not sent` };
  }
  // O_NOFOLLOW: the resolved path's last part cannot have become a symlink since.
  const file = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
  if (file === undefined) return { ok: false, problem: `the attachment ${shown} cannot be opened` };
  try {
    const stat = await file.stat();
    if (!stat.isFile()) return { ok: false, problem: `the attachment ${shown} is not a regular file` };
    if (stat.size > maxBytes) return { ok: false, problem: `the attachment ${shown} has ${stat.size} bytes, more than its max_bytes (${maxBytes})` };
    // One byte more than allowed tells a file that grew since its stat.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) return { ok: false, problem: `the attachment ${shown} has more than its max_bytes (${maxBytes})` };
    }
    return { ok: true, content: buffer.subarray(0, length), filename: basename(real) };
  } finally {
    await file.close();
  }
}
