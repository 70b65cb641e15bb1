using System.Text.Json.Serialization;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobileUNet.Model;
using MobileUNet.Data;

namespace MobileUNet.Export;

/// <summary>Which part of the network a file holds: the speed study times the encoder and decoder apart.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OnnxPart>))]
public enum OnnxPart { Full, Encoder, Decoder }

/// <summary>Numeric format of weights and compute.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OnnxPrecision>))]
public enum OnnxPrecision { Fp32, Fp16, Int8 }

/// <summary>
/// What an exported file says about itself in its metadata properties, so a consumer needs nothing else:
/// the model spec, the input normalisation, the mask threshold, the part and precision. A network of another
/// architecture (imported from TFLite) also records its size, which the MobileUNet walk cannot count for it.
/// </summary>
public sealed record OnnxMetadata(ModelSpec Spec, Normalization Normalization, float Threshold, OnnxPart Part, OnnxPrecision Precision)
{
    public const string SpecKey = "mobileunet.spec";
    public const string NormalizationKey = "mobileunet.normalization";
    public const string ThresholdKey = "mobileunet.threshold";
    public const string PartKey = "mobileunet.part";
    public const string PrecisionKey = "mobileunet.precision";
    public const string ParametersKey = "mobileunet.parameters";
    public const string MacsKey = "mobileunet.macs";

    /// <summary>Trainable parameters, when the file records them (imported models; a MobileUNet's are counted from its spec).</summary>
    public long? Parameters { get; init; }

    /// <summary>Multiply-accumulates of the convolutions per image, when the file records them.</summary>
    public long? Macs { get; init; }

    public IEnumerable<KeyValuePair<string, string>> ToProperties()
    {
        List<KeyValuePair<string, string>> properties =
        [
            new(SpecKey, JsonSerializer.Serialize(Spec)),
            new(NormalizationKey, Normalization.ToJson().ToJsonString()),
            new(ThresholdKey, Threshold.ToString("R", CultureInfo.InvariantCulture)),
            new(PartKey, Part.ToString()),
            new(PrecisionKey, Precision.ToString()),
        ];
        if (Parameters is { } parameters) properties.Add(new(ParametersKey, parameters.ToString(CultureInfo.InvariantCulture)));
        if (Macs is { } macs) properties.Add(new(MacsKey, macs.ToString(CultureInfo.InvariantCulture)));
        return properties;
    }

    /// <summary>Reads the properties back; <paramref name="source"/> names the file in errors.</summary>
    public static OnnxMetadata FromProperties(IReadOnlyDictionary<string, string> properties, string source)
    {
        string Get(string key) => properties.TryGetValue(key, out var v)
            ? v : throw new InvalidDataException($"{source}: not a MobileUNet ONNX export (metadata property '{key}' is missing).");
        try
        {
            var spec = JsonSerializer.Deserialize<ModelSpec>(Get(SpecKey)) ?? throw new InvalidDataException($"{source}: empty model spec metadata.");
            var normalization = Normalization.FromJson(JsonNode.Parse(Get(NormalizationKey))!);
            float threshold = float.Parse(Get(ThresholdKey), NumberStyles.Float, CultureInfo.InvariantCulture);
            var part = properties.TryGetValue(PartKey, out var p) ? Enum.Parse<OnnxPart>(p) : OnnxPart.Full;
            var precision = properties.TryGetValue(PrecisionKey, out var q) ? Enum.Parse<OnnxPrecision>(q) : OnnxPrecision.Fp32;
            return new OnnxMetadata(spec, normalization, threshold, part, precision)
            {
                Parameters = properties.TryGetValue(ParametersKey, out var n) ? long.Parse(n, NumberStyles.Integer, CultureInfo.InvariantCulture) : null,
                Macs = properties.TryGetValue(MacsKey, out var m) ? long.Parse(m, NumberStyles.Integer, CultureInfo.InvariantCulture) : null,
            };
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or NullReferenceException or InvalidOperationException)
        {
            throw new InvalidDataException($"{source}: unreadable MobileUNet metadata ({e.Message}).");
        }
    }
}
