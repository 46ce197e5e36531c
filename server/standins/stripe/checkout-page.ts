// The hosted Checkout page (setup mode) the stand-in serves at a session's `url`: a plain HTML form
// where a test card is typed. No script: a test can drive it with two HTTP requests.
import type { Json } from './state';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function checkoutPage(session: Json, platformName: string, error?: string): string {
  const id = String(session.id);
  const cancel = typeof session.cancel_url === 'string' ? session.cancel_url : null;
  const note = error ? `<p id="error" role="alert" class="error">${escapeHtml(error)}</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(platformName)} — save a card (test mode)</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; background: #f6f9fc; margin: 0; color: #30313d; }
  main { max-width: 26rem; margin: 3rem auto; background: #fff; border-radius: 12px; padding: 1.5rem 2rem;
         box-shadow: 0 2px 12px rgba(0,0,0,.08); }
  .test { display: inline-block; background: #ffde92; color: #bb5504; font-size: .75rem; font-weight: 700;
          padding: .1rem .4rem; border-radius: 4px; }
  label { display: block; font-size: .9rem; margin: .9rem 0 .3rem; }
  input { width: 100%; box-sizing: border-box; padding: .6rem; font: inherit; border: 1px solid #d5dbe1; border-radius: 6px; }
  .row { display: flex; gap: .75rem; } .row > div { flex: 1; }
  button { margin-top: 1.25rem; width: 100%; padding: .75rem; font: inherit; font-weight: 600; color: #fff;
           background: #635bff; border: 0; border-radius: 6px; cursor: pointer; }
  .error { color: #df1b41; } .hint { color: #6a7383; font-size: .85rem; }
</style>
</head>
<body>
<main>
  <p><span class="test">TEST MODE</span></p>
  <h1>${escapeHtml(platformName)}</h1>
  <p>Save a card for future payments. You will not be charged now.</p>
  ${note}
  <form id="checkout" method="post" action="/c/pay/${escapeHtml(id)}">
    <label for="cardNumber">Card number</label>
    <input id="cardNumber" name="cardNumber" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" required>
    <div class="row">
      <div><label for="cardExpiry">Expiry</label>
        <input id="cardExpiry" name="cardExpiry" autocomplete="cc-exp" placeholder="MM / YY" required></div>
      <div><label for="cardCvc">CVC</label>
        <input id="cardCvc" name="cardCvc" inputmode="numeric" autocomplete="cc-csc" placeholder="123" required></div>
    </div>
    <label for="billingName">Name on card</label>
    <input id="billingName" name="billingName" autocomplete="cc-name">
    <button id="submit" type="submit">Save card</button>
  </form>
  <p class="hint">Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined;
  4000 0000 0000 9995 has insufficient funds; 4000 0000 0000 0259 is disputed after capture.</p>
  ${cancel ? `<p><a id="cancel" href="${escapeHtml(cancel)}">Cancel and go back</a></p>` : ''}
</main>
</body>
</html>`;
}

export function inactivePage(platformName: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(platformName)}</title></head>
<body><main><h1 id="inactive">This Checkout Session is no longer active.</h1></main></body></html>`;
}
