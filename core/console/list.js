// list.js - reading the listing API's answers: the page of messages and the
// cursor of the next one.
export const itemsOf = (data) => data?.messages || data?.items || data?.data || [];
export const cursorOf = (data) => data?.next_cursor ?? data?.cursor ?? null;
