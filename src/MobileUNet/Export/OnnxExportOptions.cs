using System.Text.Json.Serialization;
using MobileUNet.Inference;

namespace MobileUNet.Export;

/// <summary>Which part of the network a file holds: the speed study times the encoder and decoder apart.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OnnxPart>))]
public enum OnnxPart { Full, Encoder, Decoder }

/// <summary>Numeric format of weights and compute.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OnnxPrecision>))]
public enum OnnxPrecision { Fp32, Fp16, Int8 }

/// <summary>How to export: part, precision, what a consumer needs to pre- and post-process (normalisation, threshold).</summary>
public sealed record OnnxExportOptions
{
    public OnnxPart Part { get; init; } = OnnxPart.Full;
    public OnnxPrecision Precision { get; init; } = OnnxPrecision.Fp32;

    /// <summary>fp16 only: inputs and outputs in float16 too (otherwise float32 with a Cast at each end).</summary>
    public bool Float16Io { get; init; }

    public Normalization Normalization { get; init; } = Normalization.ImageNet;

    /// <summary>Probability above which a pixel is foreground: recorded for consumers, not applied in the graph.</summary>
    public float Threshold { get; init; } = 0.5f;

    /// <summary>int8 only: how activation ranges are calibrated.</summary>
    public Int8Calibration? Calibration { get; init; }
}
