// list.js - reading the listing API's answers ({"messages": [...],
// "next_cursor": ...}): the page of messages and the next page's cursor.
export const itemsOf = (data) => data?.messages || [];
export const cursorOf = (data) => data?.next_cursor ?? null;
