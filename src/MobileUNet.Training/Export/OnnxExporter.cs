using Google.Protobuf;
using MobileUNet.Model;
using MobileUNet.Platform;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using MobileUNet.Data;

namespace MobileUNet.Export;

/// <summary>
/// Writes a <see cref="Model.MobileUNet"/> as an ONNX model (opset 17) from the one model definition:
/// BatchNorm folded into the convolution before it (eval-mode running statistics), ReLU6 as Clip(0, 6), depthwise
/// as grouped Conv, ConvTranspose 2x2/2 or Resize + Conv for the decoder, Concat for the skips, Resize bilinear x2
/// (half_pixel, torch's align_corners=false) and Sigmoid at the end. Input <c>image</c> [N,3,S,S] float32,
/// output <c>mask</c> [N,1,S,S] probabilities, batch symbolic. The encoder alone outputs the six features
/// b00, b01, b03, b05, b11, b13; the decoder alone takes them and outputs the mask.
/// </summary>
public static class OnnxExporter
{
    public const int Opset = 17;
    const long IrVersion = 8; // the IR version that goes with opset 17
    public const string InputName = "image";
    public const string OutputName = "mask";
    public const string BatchSymbol = "N";

    /// <summary>The encoder features the decoder consumes, in order (<see cref="EncoderStages.Features"/>).</summary>
    public static readonly IReadOnlyList<string> FeatureNames = [.. EncoderStages.Features.Select(f => f.Name)];

    /// <summary>Exports and writes atomically: a crash or a failed int8 calibration never leaves half a file.</summary>
    public static void Export(Model.MobileUNet model, string path, OnnxExportOptions? options = null)
    {
        var bytes = ToBytes(model, options);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    public static byte[] ToBytes(Model.MobileUNet model, OnnxExportOptions? options = null) => Build(model, options).ToByteArray();

    public static ModelProto Build(Model.MobileUNet model, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        if (options.Precision == OnnxPrecision.Int8)
        {
            if (options.Part != OnnxPart.Full)
                throw new ArgumentException("int8 export quantises the full model only (calibration runs from the image); export the full model.");
            var fp32 = Build(model, options with { Precision = OnnxPrecision.Fp32, Float16Io = false, TransposedConvForm = options.EffectiveTransposedConvForm });
            return Int8Quantizer.Quantize(fp32, options.Calibration ?? Int8Calibration.Default(model.Spec.InputSize), model.Spec);
        }
        if (options.Float16Io && options.Precision != OnnxPrecision.Fp16)
            throw new ArgumentException("float16 inputs and outputs need fp16 precision.");

        var graph = new GraphProto { Name = $"mobileunet-{model.Spec.Label}-{options.Part.ToString().ToLowerInvariant()}" };
        var compute = options.Precision == OnnxPrecision.Fp16 ? OnnxElementType.Float16 : OnnxElementType.Float;
        var io = options.Float16Io ? OnnxElementType.Float16 : OnnxElementType.Float;
        var writer = new NetworkWriter(new OnnxGraphBuilder(graph, compute), Weights.Of(model), model.Spec, io, options.EffectiveTransposedConvForm);
        writer.Write(options.Part);

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "MobileUNet.NET",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = $"MobileUNet {model.Spec}",
            Graph = graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        var metadata = new OnnxMetadata(model.Spec, options.Normalization, options.Threshold, options.Part, options.Precision);
        foreach (var (key, value) in metadata.ToProperties())
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return proto;
    }

    /// <summary>Name of a single block's input and output in <see cref="BuildBlock"/>'s graph.</summary>
    public const string BlockInputName = "x", BlockOutputName = "y";

    /// <summary>
    /// One <see cref="ConvBlock"/> or <see cref="DepthwiseBlock"/> alone as an fp32 graph, written by the same
    /// code as the full network (BN folded, ReLU6 as Clip): input <c>x</c> [N,Cin,S,S], output <c>y</c>. The
    /// speed study's conv vs depthwise comparison times exactly what the network would run.
    /// </summary>
    public static ModelProto BuildBlock(nn.Module<Tensor, Tensor> block, long inChannels, int inputSize, int stride)
    {
        bool depthwise = block switch
        {
            DepthwiseBlock => true,
            ConvBlock => false,
            _ => throw new ArgumentException($"{block.GetType().Name} is not a conv block or a depthwise block.", nameof(block)),
        };
        var graph = new GraphProto { Name = $"mobileunet-{(depthwise ? "depthwise" : "conv")}-block" };
        var g = new OnnxGraphBuilder(graph, OnnxElementType.Float);
        // The block writer never reads the spec (only the whole network's walk does).
        var writer = new NetworkWriter(g, Weights.Of(block, "block."), new ModelSpec(1, 32), OnnxElementType.Float, TransposedConvForm.ConvTranspose);
        g.Input(BlockInputName, OnnxElementType.Float, BatchSymbol, inChannels, (long)inputSize, (long)inputSize);
        var y = depthwise ? writer.DepthwiseBlock("block", BlockInputName, stride, BlockOutputName) : writer.ConvBlock("block", BlockInputName, stride, BlockOutputName);
        long outChannels = depthwise ? ((DepthwiseBlock)block).OutChannels : ((ConvBlock)block).OutChannels;
        long outSize = (inputSize - 1) / stride + 1;
        g.Output(y, OnnxElementType.Float, BatchSymbol, outChannels, outSize, outSize);
        var proto = new ModelProto { IrVersion = IrVersion, ProducerName = "MobileUNet.NET", Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return proto;
    }

    /// <summary>The model's tensors by state-dict key, copied out as floats (the export never touches the live model).</summary>
    sealed class Weights
    {
        readonly Dictionary<string, (float[] Values, long[] Shape)> tensors = [];

        public static Weights Of(nn.Module module, string prefix = "")
        {
            var w = new Weights();
            using var _ = no_grad();
            foreach (var (key, tensor) in module.state_dict())
            {
                if (tensor.dtype != ScalarType.Float32) continue; // num_batches_tracked
                using var cpu = tensor.detach().cpu().contiguous();
                w.tensors[prefix + key] = (cpu.data<float>().ToArray(), cpu.shape);
            }
            return w;
        }

        public (float[] Values, long[] Shape) this[string key] =>
            tensors.TryGetValue(key, out var t) ? t : throw new InvalidOperationException($"the model has no tensor '{key}'.");
    }

    /// <summary>Walks the architecture of section 2 of the design notes, block by block, in the model's own names.</summary>
    sealed class NetworkWriter(OnnxGraphBuilder g, Weights w, ModelSpec spec, OnnxElementType io, TransposedConvForm form)
    {
        string? zero, six;

        public void Write(OnnxPart part)
        {
            int s = spec.InputSize;
            if (part == OnnxPart.Decoder)
            {
                var shapes = FeatureShapes();
                var inputs = FeatureNames.Select((name, i) => FromIo(name, io, shapes[i])).ToArray();
                var mask = Decoder(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5]);
                ToIo(mask, OutputName, BatchSymbol, 1, s, s);
                return;
            }

            var image = FromIo(InputName, io, [3, s, s]);
            var features = Encoder(image);
            if (part == OnnxPart.Encoder)
            {
                var shapes = FeatureShapes();
                for (int i = 0; i < features.Count; i++)
                    ToIo(features[i], FeatureNames[i] + "_out", [BatchSymbol, .. shapes[i].Cast<object>()]);
                return;
            }
            var full = Decoder(features[0], features[1], features[2], features[3], features[4], features[5]);
            ToIo(full, OutputName, BatchSymbol, 1, s, s);
        }

        IReadOnlyList<long[]> FeatureShapes() => EncoderStages.FeatureShapes(spec);

        // A graph input in the I/O type, cast to the compute type when they differ.
        string FromIo(string name, OnnxElementType type, long[] chw)
        {
            g.Input(name, type, [BatchSymbol, .. chw.Cast<object>()]);
            return type == g.ComputeType ? name : g.Node("Cast", name, [name], [Tensors.Int("to", (long)g.ComputeType)]);
        }

        void ToIo(string value, string name, params object[] dims)
        {
            if (io == g.ComputeType) g.Node("Identity", name, [value], output: name);
            else g.Node("Cast", name, [value], [Tensors.Int("to", (long)io)], output: name);
            g.Output(name, io, dims);
        }

        // Stage by stage from the table; a feature the decoder reads keeps the stage's name as its value name.
        List<string> Encoder(string image)
        {
            var features = new List<string>(FeatureNames.Count);
            var x = image;
            foreach (var stage in EncoderStages.All)
            {
                string name = "encoder." + stage.Name;
                string? output = FeatureNames.Contains(stage.Name) ? stage.Name : null;
                x = stage.Depthwise ? DepthwiseBlock(name, x, stage.Stride, output) : ConvBlock(name, x, stage.Stride, output);
                if (output is not null) features.Add(x);
            }
            return features;
        }

        string Decoder(string f00, string f01, string f03, string f05, string f11, string f13)
        {
            var x = Stage(1, "b14", f13, f11);
            x = Stage(2, "b15", x, f05);
            x = Stage(3, "b16", x, f03);
            x = Stage(4, "b17", x, f01);
            x = g.Node("Concat", "decoder.cat5", [x, f00], [Tensors.Int("axis", 1)]);
            x = ConvBlock("decoder.b18", x, stride: 1);
            x = Conv("decoder.head", x, w["decoder.head.weight"], w["decoder.head.bias"].Values, stride: 1, pad: 0, groups: 1);
            x = Resize("decoder.resize", x, "linear", "half_pixel");
            return g.Node("Sigmoid", "decoder.sigmoid", [x]);
        }

        string Stage(int index, string fuse, string input, string skip)
        {
            var up = $"decoder.up{index}";
            string u;
            if (spec.Upsampling == Upsampling.TransposedConv)
            {
                var (weight, shape) = w[up + ".transposed.weight"];
                var bias = w[up + ".transposed.bias"].Values;
                u = form == TransposedConvForm.ConvDepthToSpace
                    ? ConvDepthToSpace(up, input, weight, shape, bias)
                    : g.Node("ConvTranspose", up, [input, g.Weight(up + ".weight", weight, shape), g.Weight(up + ".bias", bias, shape[1])],
                        [Tensors.Ints("kernel_shape", 2, 2), Tensors.Ints("strides", 2, 2)]);
            }
            else
            {
                var resized = spec.Upsampling == Upsampling.BilinearConv
                    ? Resize(up + ".resize", input, "linear", "half_pixel")
                    // torch's "nearest" picks floor(dst / 2): asymmetric coordinates with floor rounding.
                    : Resize(up + ".resize", input, "nearest", "asymmetric", "floor");
                u = Conv(up, resized, w[up + ".conv.weight"], w[up + ".conv.bias"].Values, stride: 1, pad: 1, groups: 1);
            }
            var cat = g.Node("Concat", $"decoder.cat{index}", [u, skip], [Tensors.Int("axis", 1)]);
            return DepthwiseBlock("decoder." + fuse, cat, 1);
        }

        // A 2x2 stride-2 transposed conv has no overlapping taps: each input pixel writes its own 2x2 patch. So it
        // equals a 1x1 conv to 4 x Cout channels (channel co*4 + a*2 + b holds tap (a, b)) and a DepthToSpace (CRD):
        // ordinary convs that ONNX Runtime runs in its fast blocked layout and in int8.
        string ConvDepthToSpace(string name, string x, float[] weight, long[] shape, float[] bias)
        {
            long cin = shape[0], cout = shape[1];
            var w1 = new float[cout * 4 * cin];
            var b1 = new float[cout * 4];
            for (long ci = 0; ci < cin; ci++)
                for (long co = 0; co < cout; co++)
                    for (int tap = 0; tap < 4; tap++)
                        w1[(co * 4 + tap) * cin + ci] = weight[(ci * cout + co) * 4 + tap];
            for (long co = 0; co < cout; co++)
                for (int tap = 0; tap < 4; tap++) b1[co * 4 + tap] = bias[co];
            var taps = Conv(name, x, (w1, [cout * 4, cin, 1, 1]), b1, stride: 1, pad: 0, groups: 1);
            return g.Node("DepthToSpace", name, [taps], [Tensors.Int("blocksize", 2), Tensors.String("mode", "CRD")]);
        }

        public string ConvBlock(string name, string x, int stride, string? output = null) =>
            Relu6(name, ConvBn(name + ".conv", name + ".bn", x, stride, groups: 1), output);

        public string DepthwiseBlock(string name, string x, int stride, string? output = null)
        {
            long channels = w[name + ".depthwise.weight"].Shape[0];
            var d = Relu6(name + ".dw", ConvBn(name + ".depthwise", name + ".bn1", x, stride, groups: channels));
            return Relu6(name, ConvBn(name + ".pointwise", name + ".bn2", d, 1, groups: 1), output);
        }

        string ConvBn(string conv, string bn, string x, int stride, long groups)
        {
            var (weight, bias) = BatchNormFolding.Fold(w[conv + ".weight"], null, w[bn + ".weight"].Values, w[bn + ".bias"].Values,
                w[bn + ".running_mean"].Values, w[bn + ".running_var"].Values, Norm.Epsilon);
            var shape = w[conv + ".weight"].Shape;
            return Conv(conv, x, (weight, shape), bias, stride, pad: (int)(shape[2] / 2), groups);
        }

        string Conv(string name, string x, (float[] Values, long[] Shape) weight, float[] bias, int stride, int pad, long groups)
        {
            var k = weight.Shape;
            return g.Node("Conv", name, [x, g.Weight(name + ".weight", weight.Values, k), g.Weight(name + ".bias", bias, k[0])],
            [
                Tensors.Ints("kernel_shape", k[2], k[3]), Tensors.Ints("strides", stride, stride),
                Tensors.Ints("pads", pad, pad, pad, pad), Tensors.Ints("dilations", 1, 1), Tensors.Int("group", groups),
            ]);
        }

        string Relu6(string name, string x, string? output = null)
        {
            zero ??= g.Weight("relu6.min", [0f]);
            six ??= g.Weight("relu6.max", [6f]);
            return g.Node("Clip", name + ".relu6", [x, zero, six], output: output);
        }

        string Resize(string name, string x, string mode, string coordinates, string? nearestMode = null)
        {
            var scales = g.Initializer(Tensors.Float(g.Unique(name + ".scales"), [1f, 1f, 2f, 2f], 4));
            List<AttributeProto> attributes = [Tensors.String("mode", mode), Tensors.String("coordinate_transformation_mode", coordinates)];
            if (nearestMode is not null) attributes.Add(Tensors.String("nearest_mode", nearestMode));
            return g.Node("Resize", name, [x, "", scales], attributes);
        }
    }
}
