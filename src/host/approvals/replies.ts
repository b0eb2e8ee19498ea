// Pure: what a click or a typed reply means. Card options carry everything a decision needs (the
// approval id, the verdict, the payload hash the card showed, a choice); typed replies are a number
// (the n-th option of the card last shown in that chat) or "approve|reject <approval id> [note]".

export type OptionIntent =
  | {
      type: 'approval';
      approvalId: string;
      decision: 'approve' | 'reject';
      payloadHash: string;
      choice?: string;
    }
  | { type: 'question'; questionId: string; option: number };

export type TextIntent =
  | { type: 'number'; n: number }
  | { type: 'command'; decision: 'approve' | 'reject'; approvalId: string; note?: string };

const ID = '[A-Za-z0-9_-]{1,100}';
const APPROVAL_VALUE = new RegExp(`^apr:(${ID}):(approve|reject):([0-9a-f]{64})(?::(${ID}))?$`);
const QUESTION_VALUE = new RegExp(`^q:(${ID}):([1-9][0-9]?)$`);
const COMMAND = new RegExp(`^(approve|reject)\\s+(${ID})(?:\\s+([\\s\\S]{1,1000}))?$`, 'i');

export function approvalOptionValue(
  approvalId: string,
  decision: 'approve' | 'reject',
  payloadHash: string,
  choice?: string,
): string {
  return `apr:${approvalId}:${decision}:${payloadHash}${choice ? `:${choice}` : ''}`;
}

/** Options are numbered from 1, as people see them. */
export function questionOptionValue(questionId: string, option: number): string {
  return `q:${questionId}:${option}`;
}

export function parseOptionValue(value: string): OptionIntent | undefined {
  const approval = APPROVAL_VALUE.exec(value.trim());
  if (approval) {
    return {
      type: 'approval',
      approvalId: approval[1]!,
      decision: approval[2] as 'approve' | 'reject',
      payloadHash: approval[3]!,
      ...(approval[4] ? { choice: approval[4] } : {}),
    };
  }
  const question = QUESTION_VALUE.exec(value.trim());
  if (question) return { type: 'question', questionId: question[1]!, option: Number(question[2]) };
  return undefined;
}

export function parseTextReply(text: string): TextIntent | undefined {
  const trimmed = text.trim();
  if (/^[1-9][0-9]?$/.test(trimmed)) return { type: 'number', n: Number(trimmed) };
  const command = COMMAND.exec(trimmed);
  if (!command) return undefined;
  return {
    type: 'command',
    decision: command[1]!.toLowerCase() as 'approve' | 'reject',
    approvalId: command[2]!,
    ...(command[3] ? { note: command[3].trim() } : {}),
  };
}
