// i18n.js - the console's words in English and Portuguese; the browser's
// language picks (pt* -> Portuguese, anything else -> English).
const en = {
  'nav.overview': 'Overview', 'nav.campaigns': 'Campaigns', 'nav.messages': 'Messages',
  'nav.failed': 'Failed', 'nav.suppressions': 'Suppressions', signout: 'Sign out',
  'signin.title': 'Sign in',
  'signin.help': 'Use an operator key (ADMIN_API_KEYS). It is kept in this tab only.',
  'signin.key': 'Admin API key', 'signin.submit': 'Sign in',
  'signin.bad': 'That key was refused.', 'signin.notadmin': 'That key may send, but it is not an operator key.',
  'overview.title': 'Overview', 'overview.throughput': 'Messages per minute, last hour',
  'overview.status': 'Messages by status', 'overview.queue': 'Queue depth',
  'overview.oldest': 'Oldest queued', 'overview.provider': 'Provider',
  'overview.paused': 'paused', 'overview.ok': 'ready', 'overview.failures': 'Top failure reasons',
  'overview.latency': 'Provider latency (ms)', 'overview.none': 'None.', 'overview.reason': 'Reason',
  'campaigns.title': 'Campaigns', 'campaigns.id': 'Campaign id', 'campaigns.show': 'Show',
  'campaigns.recent': 'Campaigns in recent messages', 'campaigns.cancel': 'Cancel queued',
  'campaigns.canceled': 'Canceled: {n}', 'campaigns.progress': 'Progress',
  'messages.title': 'Messages', 'messages.search': 'Search', 'messages.more': 'More',
  'messages.external': 'External id', 'messages.phone': 'Phone', 'messages.status': 'Status',
  'messages.campaign': 'Campaign', 'messages.since': 'Since', 'messages.until': 'Until',
  'messages.any': 'any', 'messages.none': 'No messages.', 'messages.created': 'Created',
  'messages.id': 'Message id', 'messages.notfound': 'No message with that external id.',
  'detail.title': 'Message', 'detail.history': 'History', 'detail.attempts': 'Attempts',
  'detail.error': 'Last error', 'detail.provider': 'Provider id', 'detail.retry': 'Requeue',
  'failed.title': 'Failed messages', 'failed.retry': 'Requeue', 'failed.retryall': 'Requeue all shown',
  'failed.requeued': 'Requeued: {n}', 'failed.none': 'Nothing failed.',
  'supp.title': 'Suppressions', 'supp.phone': 'Phone', 'supp.add': 'Suppress',
  'supp.remove': 'Remove', 'supp.none': 'No suppressed numbers.',
  'supp.unavailable': 'This daemon does not keep suppressions yet.',
  'error.load': 'Could not load: {e}',
};
const pt = {
  'nav.overview': 'Visão geral', 'nav.campaigns': 'Campanhas', 'nav.messages': 'Mensagens',
  'nav.failed': 'Falhas', 'nav.suppressions': 'Bloqueios', signout: 'Sair',
  'signin.title': 'Entrar',
  'signin.help': 'Use uma chave de operador (ADMIN_API_KEYS). Ela fica só nesta aba.',
  'signin.key': 'Chave de API de operador', 'signin.submit': 'Entrar',
  'signin.bad': 'Essa chave foi recusada.', 'signin.notadmin': 'Essa chave pode enviar, mas não é de operador.',
  'overview.title': 'Visão geral', 'overview.throughput': 'Mensagens por minuto, última hora',
  'overview.status': 'Mensagens por estado', 'overview.queue': 'Fila',
  'overview.oldest': 'Mais antiga na fila', 'overview.provider': 'Provedor',
  'overview.paused': 'pausado', 'overview.ok': 'pronto', 'overview.failures': 'Principais motivos de falha',
  'overview.latency': 'Latência do provedor (ms)', 'overview.none': 'Nenhum.', 'overview.reason': 'Motivo',
  'campaigns.title': 'Campanhas', 'campaigns.id': 'Id da campanha', 'campaigns.show': 'Mostrar',
  'campaigns.recent': 'Campanhas nas mensagens recentes', 'campaigns.cancel': 'Cancelar na fila',
  'campaigns.canceled': 'Canceladas: {n}', 'campaigns.progress': 'Progresso',
  'messages.title': 'Mensagens', 'messages.search': 'Buscar', 'messages.more': 'Mais',
  'messages.external': 'Id externo', 'messages.phone': 'Telefone', 'messages.status': 'Estado',
  'messages.campaign': 'Campanha', 'messages.since': 'Desde', 'messages.until': 'Até',
  'messages.any': 'qualquer', 'messages.none': 'Nenhuma mensagem.', 'messages.created': 'Criada',
  'messages.id': 'Id da mensagem', 'messages.notfound': 'Nenhuma mensagem com esse id externo.',
  'detail.title': 'Mensagem', 'detail.history': 'Histórico', 'detail.attempts': 'Tentativas',
  'detail.error': 'Último erro', 'detail.provider': 'Id no provedor', 'detail.retry': 'Reenfileirar',
  'failed.title': 'Mensagens com falha', 'failed.retry': 'Reenfileirar', 'failed.retryall': 'Reenfileirar todas',
  'failed.requeued': 'Reenfileiradas: {n}', 'failed.none': 'Nenhuma falha.',
  'supp.title': 'Bloqueios', 'supp.phone': 'Telefone', 'supp.add': 'Bloquear',
  'supp.remove': 'Remover', 'supp.none': 'Nenhum número bloqueado.',
  'supp.unavailable': 'Este serviço ainda não guarda bloqueios.',
  'error.load': 'Não foi possível carregar: {e}',
};

const lang = (navigator.languages?.[0] || navigator.language || 'en').toLowerCase();
export const locale = lang.startsWith('pt') ? 'pt' : 'en';
const words = locale === 'pt' ? pt : en;

export function t(key, vars = {}) {
  const w = words[key] ?? en[key] ?? key;
  return w.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

// Fill every [data-i18n] element below root.
export function translate(root = document) {
  document.documentElement.lang = locale === 'pt' ? 'pt-BR' : 'en';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
}
