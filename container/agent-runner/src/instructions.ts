// The agent's standing instructions for a real model: how replies and tools work here, where it may
// send, its AGENT.md (the operator's instructions) and its MEMORY.md (its own notes). Assembling them
// is pure; reading the files is a thin edge, done on every turn so an edit applies to the next one.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Longest AGENT.md used; the rest is cut with a note (it is sent with every model call). */
export const MAX_AGENT_MD_CHARS = 32_000;
/** Longest MEMORY.md: update_memory refuses more, and a longer hand-edited file is cut. */
export const MAX_MEMORY_CHARS = 16_000;
export const MEMORY_FILE = 'MEMORY.md';
export const AGENT_FILE = 'AGENT.md';

export interface InstructionParts {
  /** AGENT.md of the agent group, null when it has none. */
  agentMd: string | null;
  /** The memory file's content ('' when empty), or null when the agent has no memory folder. */
  memory: string | null;
  /** Where the agent finds its memory file (as it sees the path). */
  memoryPath: string;
  destinations: readonly { name: string; kind: 'channel' | 'agent' }[];
  /** How the model sees the runner's tool names: 'mcp__warren__' for claude, '' for openai. */
  toolPrefix: string;
}

export function assembleInstructions(parts: InstructionParts): string {
  const tool = (name: string) => `${parts.toolPrefix}${name}`;
  const sections = [
    [
      '# How you work here',
      'You are an agent in Warren: people write to you from chat apps, and each turn shows the new messages in <messages> (their ids are seqs; times are in your time zone).',
      `- Your final text of a turn is sent as your reply to the conversation the turn answers, so keep it to what the person should read.`,
      `- For an extra message now, or a message to one of your destinations, call ${tool('send_message')}. Do not repeat in your final text what a tool already sent.`,
      `- ${tool('send_file')} sends a file (from the folders its description names), ${tool('add_reaction')} reacts, ${tool('edit_message')} corrects a message you sent, ${tool('schedule_task')} runs a prompt later or on a schedule.`,
      destinationLine(parts.destinations),
    ].join('\n'),
  ];
  if (parts.agentMd !== null && parts.agentMd.trim() !== '') {
    sections.push(`# Your instructions (${AGENT_FILE})\n${cut(parts.agentMd.trim(), MAX_AGENT_MD_CHARS)}`);
  }
  if (parts.memory !== null) {
    const memory = parts.memory.trim();
    sections.push(
      [
        '# Your memory',
        `Your notes live in ${parts.memoryPath}, shared by all your conversations. Keep them short and current: to change them, call ${tool('update_memory')} with the whole new text (at most ${MAX_MEMORY_CHARS} characters).`,
        memory === '' ? 'It is empty so far.' : `<memory>\n${cut(memory, MAX_MEMORY_CHARS)}\n</memory>`,
      ].join('\n'),
    );
  }
  return sections.join('\n\n');
}

function destinationLine(destinations: InstructionParts['destinations']): string {
  if (destinations.length === 0)
    return '- You have no named destinations: you answer in the current conversation only.';
  const names = destinations.map((d) => `${d.name} (${d.kind === 'agent' ? 'another agent' : 'a chat'})`);
  return `- Destinations you may send to with \`to\`: ${names.join(', ')}.`;
}

function cut(text: string, max: number): string {
  return text.length <= max
    ? text
    : `${text.slice(0, max)}\n[… cut: the file is longer than ${max} characters]`;
}

/**
 * The files behind the instructions; a missing or unreadable file counts as absent (an agent without
 * a memory folder has no memory at all; one with an empty folder has an empty memory).
 */
export function readInstructionFiles(
  groupDir: string,
  memoryDir: string | undefined,
): Pick<InstructionParts, 'agentMd' | 'memory'> {
  const hasMemory = memoryDir !== undefined && existsSync(memoryDir);
  return {
    agentMd: readText(join(groupDir, AGENT_FILE)),
    memory: hasMemory ? (readText(join(memoryDir, MEMORY_FILE)) ?? '') : null,
  };
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
