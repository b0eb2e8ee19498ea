// What a panel of the dashboard is: a titled section whose body is read again from the API whenever
// one of its topics (the event names of GET /api/events) says something changed.
import type { Api } from '../api.ts';

export interface PanelContext {
  api: Api;
  /** Reads every panel with this topic again (after an action, without waiting for the stream). */
  changed(topic: string): void;
}

export interface Panel {
  id: string;
  title: string;
  topics: string[];
  wide?: boolean;
  /** Built once, above the body: forms whose half-typed input must survive a refresh. */
  mount?(ctx: PanelContext): Node;
  /** The body, read now. */
  load(ctx: PanelContext): Promise<Node[]>;
}
