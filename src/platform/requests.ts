/** declarativeNetRequest session rules: the browser itself attaches paid tokens to requests. */
import browser, { type DeclarativeNetRequest } from 'webextension-polyfill';

export const sessionRules = {
  updateSessionRules(options: DeclarativeNetRequest.UpdateSessionRulesOptionsType): Promise<void> {
    return browser.declarativeNetRequest.updateSessionRules(options);
  },
  getSessionRules(): Promise<DeclarativeNetRequest.Rule[]> {
    return browser.declarativeNetRequest.getSessionRules();
  },
};
