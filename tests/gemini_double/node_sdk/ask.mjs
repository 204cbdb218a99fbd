// A Node chat server's Gemini call, wired to the Gemini double as docs/conformance.md shows.
// `env`: the SDK reads GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY (or GOOGLE_API_KEY) by itself.
// `option`: the server passes httpOptions.baseUrl and apiKey from its own settings (here CHAT_GEMINI_*).
// Prints the streamed answer as one JSON line: {"chunks": n, "text": "..."}.
import { GoogleGenAI } from "@google/genai";

const [mode, question] = process.argv.slice(2);
const ai =
  mode === "option"
    ? new GoogleGenAI({
        apiKey: process.env.CHAT_GEMINI_KEY,
        httpOptions: { baseUrl: process.env.CHAT_GEMINI_BASE_URL },
      })
    : new GoogleGenAI({});
const stream = await ai.models.generateContentStream({ model: "gemini-2.5-flash", contents: question });
let chunks = 0;
let text = "";
for await (const chunk of stream) {
  chunks += 1;
  text += chunk.text ?? "";
}
console.log(JSON.stringify({ chunks, text }));
