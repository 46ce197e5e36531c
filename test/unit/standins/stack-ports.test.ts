import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortInUseError, startStack } from '../../../server/dev/stack';

let taken: Server;
let port = 0;

beforeAll(async () => {
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const address = taken.address();
  port = typeof address === 'object' && address ? address.port : 0;
});
afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

describe('the stack on a busy machine', () => {
  it.each(['demo', 'lnbits', 'rates', 'card', 'facilitator'] as const)(
    'a taken port for %s names the part, the port and its env var',
    async (part) => {
      const ports = {
        demo: 0,
        lnbits: 0,
        rates: 0,
        relay: 0,
        stripe: 0,
        card: 0,
        facilitator: 0,
        [part]: port,
      };
      const failed = await startStack({ ports }).then(
        (s) => s.close().then(() => undefined),
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(PortInUseError);
      expect((failed as Error).message).toContain(`port ${port}`);
      expect((failed as Error).message).toContain(`PAYBOUND_${part.toUpperCase()}_PORT`);
      expect((failed as Error).message).toContain('0 picks a free one');
    },
  );
});
