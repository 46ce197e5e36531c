import { mount } from '../shared/mount';

/** The quote window. The payment flow fills it: origin, amount in both units, budget effect. */
function Approve() {
  return (
    <main style={{ padding: 16 }}>
      <h1>Payment request</h1>
      <p className="muted">No payment is waiting for your approval.</p>
    </main>
  );
}

mount(<Approve />);
