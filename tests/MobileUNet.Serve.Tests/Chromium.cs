using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace MobileUNet.Serve.Tests;

/// <summary>Headless chromium driven over the DevTools protocol (a WebSocket; no client library needed).</summary>
sealed class Chromium : IDisposable
{
    readonly Process process;
    readonly ClientWebSocket socket = new();
    int nextId;

    Chromium(Process process) => this.process = process;

    /// <summary>Opens <paramref name="url"/> with a fresh profile under <paramref name="dir"/>, plus the page's own <paramref name="flags"/>.</summary>
    public static Chromium Launch(string dir, string url, IEnumerable<string> flags)
    {
        var profile = Path.Combine(dir, "profile");
        var start = new ProcessStartInfo("chromium")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var arg in new[] { "--headless", "--no-sandbox", "--no-first-run", "--mute-audio", "--remote-debugging-port=0", $"--user-data-dir={profile}", "--window-size=900,760" }
                 .Concat(flags).Append(url)) start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start");
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var browser = new Chromium(process);
        try { browser.Connect(profile).GetAwaiter().GetResult(); }
        catch
        {
            browser.Dispose();
            throw;
        }
        return browser;
    }

    async Task Connect(string profile)
    {
        var portFile = Path.Combine(profile, "DevToolsActivePort");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!File.Exists(portFile) || new FileInfo(portFile).Length == 0)
        {
            if (DateTime.UtcNow > deadline || process.HasExited) throw new InvalidOperationException("chromium did not open its DevTools port");
            await Task.Delay(100);
        }
        int port = int.Parse((await File.ReadAllLinesAsync(portFile))[0], System.Globalization.CultureInfo.InvariantCulture);
        using var http = new HttpClient();
        string? ws = null;
        while (ws is null)
        {
            var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
            ws = targets.FirstOrDefault(t => t!["type"]!.GetValue<string>() == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
            if (ws is null) await Task.Delay(100);
        }
        await socket.ConnectAsync(new Uri(ws), CancellationToken.None);
    }

    async Task<JsonNode> Call(string method, JsonObject parameters)
    {
        int id = ++nextId;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var text = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                text.Write(buffer, 0, result.Count);
            } while (!result.EndOfMessage);
            var reply = JsonNode.Parse(text.ToArray())!;
            if (reply["id"]?.GetValue<int>() != id) continue; // events
            if (reply["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"]!;
        }
    }

    /// <summary>Polls a page expression (JSON-serialised in the page) until <paramref name="done"/> holds.</summary>
    public async Task<JsonNode> WaitForAsync(string expression, Func<JsonNode?, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            JsonNode result;
            try
            {
                result = await Call("Runtime.evaluate", new JsonObject { ["expression"] = $"JSON.stringify({expression} ?? null)", ["returnByValue"] = true });
            }
            catch (InvalidOperationException e) when (e.Message.Contains("execution context", StringComparison.OrdinalIgnoreCase))
            {
                // The page is still loading (no JavaScript context yet, or it was replaced): not an answer, ask again.
                await Task.Delay(250);
                continue;
            }
            last = JsonNode.Parse(result["result"]!["value"]?.GetValue<string>() ?? "null");
            if (done(last)) return last!;
            await Task.Delay(250);
        }
        throw new TimeoutException($"the page never got there; last state: {last?.ToJsonString() ?? "null"}");
    }

    /// <summary>The value of a page expression, as a string.</summary>
    public async Task<string> EvaluateAsync(string expression)
    {
        var result = await Call("Runtime.evaluate", new JsonObject { ["expression"] = $"String({expression})", ["returnByValue"] = true });
        return result["result"]!["value"]?.GetValue<string>() ?? "";
    }

    public async Task<byte[]> ScreenshotAsync()
    {
        var result = await Call("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String(result["data"]!.GetValue<string>());
    }

    public void Dispose()
    {
        socket.Dispose();
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        process.WaitForExit(5000);
        process.Dispose();
    }
}
