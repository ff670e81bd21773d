// English defaults; the config's texts (already in the matched locale) override them key by key.
export const DEFAULT_TEXTS = {
  title: 'We value your privacy',
  description: 'We use cookies. Optional ones need your consent; you can change it any time.',
  accept_all: 'Accept all',
  reject_all: 'Reject all',
  settings: 'Settings',
  save: 'Save choices',
  agree: 'I agree',
  close: 'Close',
  changed: 'We have updated:',
  gpc_honoured: 'Your Global Privacy Control signal was honoured.',
  required: 'Always on',
  cookies: 'Cookies',
};
