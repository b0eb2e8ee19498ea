// update_memory: the agent rewrites its MEMORY.md (the folder is the agent group's, mounted
// read-write and shared by its sessions). A tool rather than file access, so every provider can keep
// notes (openai has no file tools) and the size stays bounded. The write is atomic: a session that
// reads the file meanwhile sees the old notes or the new ones, never half of them.
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { MAX_MEMORY_CHARS, MEMORY_FILE } from '../instructions.ts';

export function registerMemoryTool(server: McpServer, memoryDir: string): void {
  server.registerTool(
    'update_memory',
    {
      description:
        'Replace your memory file (MEMORY.md) with this text: notes worth keeping across conversations. ' +
        'It is shown to you at the start of every turn. Send the whole new text, not a change.',
      inputSchema: { text: z.string().max(MAX_MEMORY_CHARS) },
    },
    async ({ text }) => {
      const file = join(memoryDir, MEMORY_FILE);
      const temporary = join(memoryDir, `.${MEMORY_FILE}.${randomBytes(4).toString('hex')}`);
      try {
        await writeFile(temporary, text.endsWith('\n') || text === '' ? text : `${text}\n`);
        await rename(temporary, file);
      } catch (err) {
        await rm(temporary, { force: true });
        return {
          isError: true,
          content: [
            {
              type: 'text',
              text: `memory could not be written (${(err as Error).message}); it is unchanged.`,
            },
          ],
        };
      }
      return { content: [{ type: 'text', text: JSON.stringify({ saved: text.length }) }] };
    },
  );
}
