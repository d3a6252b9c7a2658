// An ephemeral reply to whoever clicked, through the interaction's response_url (valid 30 minutes, 5 uses):
// https://docs.slack.dev/interactivity/handling-user-interaction#message_responses
export async function replyTo(responseUrl: string, text: string): Promise<void> {
  const response = await fetch(responseUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`Slack's response_url answered ${response.status}`);
}
