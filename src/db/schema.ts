/**
 * The Dexie database. Versions are append-only: a shipped version is never edited, a change is a
 * new `this.version(n)` with its upgrade function.
 */
import Dexie, { type Table } from 'dexie';

export interface ChallengeRecord {
  id?: number;
  /** The origin the browser reported for the sending frame, never one the page claimed. */
  origin: string;
  url: string;
  method: string;
  protocols: string[];
  seenAt: number;
  /** Why the challenge could not be used, when it could not. */
  error?: string;
}

export type RailKind = 'lnbits';

export interface RailRecord {
  id: string;
  kind: RailKind;
  label: string;
  /** Connection details; encrypted at rest once the lock lands (DESIGN §9). */
  config: { url: string; adminKey: string };
  createdAt: number;
}

export interface SettingRecord {
  key: string;
  value: unknown;
}

export class PayboundDb extends Dexie {
  challenges!: Table<ChallengeRecord, number>;
  rails!: Table<RailRecord, string>;
  settings!: Table<SettingRecord, string>;

  constructor(name = 'paybound') {
    super(name);
    this.version(1).stores({
      challenges: '++id, origin, seenAt',
      rails: 'id, kind',
      settings: 'key',
    });
  }
}
