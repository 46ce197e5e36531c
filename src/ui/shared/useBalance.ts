/** A Lightning wallet's balance, asked of the worker after the page shows; nothing for cards and page wallets. */
import { useEffect, useState } from 'react';
import { send } from '../../messages/client';

/** Wallet kinds whose balance the worker can read (a card has none; a page's WebLN lives in the page). */
const HAS_BALANCE = new Set(['lnbits', 'nwc']);

export function useBalance(railId: string | undefined, kind: string | undefined): bigint | undefined {
  const [balance, setBalance] = useState<{ railId: string; msat: bigint }>();
  useEffect(() => {
    if (!railId || !kind || !HAS_BALANCE.has(kind)) return;
    let live = true;
    void send('rails.test', { railId })
      .then((r) => {
        if (live && r.ok) setBalance({ railId, msat: BigInt(r.balanceMsat) });
      })
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [railId, kind]);
  // A balance read for another wallet (the user switched) is not shown for this one.
  return balance && balance.railId === railId ? balance.msat : undefined;
}
