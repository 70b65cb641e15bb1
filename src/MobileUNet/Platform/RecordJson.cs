using System.Text.Json;
using System.Text.Json.Serialization;

namespace MobileUNet.Platform;

/// <summary>The JSON form of the records the tools write and read back (bench.json, accuracy.json, recommend).</summary>
internal static class RecordJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // Infinity can appear as FPS of a zero latency; keep the document valid JSON either way.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };
}
