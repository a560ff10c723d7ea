import Engine
import Foundation

/// A 2-D point in glyph coordinates: the unit square, `(0, 0)` top left.
typealias GlyphPoint = SIMD2<Double>

/// One pen stroke of a synthetic glyph.
enum GlyphStroke: Sendable {
    /// A straight line.
    case line(GlyphPoint, GlyphPoint)
    /// A circular arc: centre, radius, start angle and signed sweep in radians.
    case arc(center: GlyphPoint, radius: Double, start: Double, sweep: Double)
    /// A quadratic Bézier curve from the first to the last point.
    case curve(GlyphPoint, GlyphPoint, GlyphPoint)

    /// The stroke sampled as a polyline of `count` points (at least 2).
    func polyline(_ count: Int = 14) -> [GlyphPoint] {
        (0..<count).map { i in
            let t = Double(i) / Double(count - 1)
            switch self {
            case let .line(a, b):
                return a + (b - a) * t
            case let .arc(center, radius, start, sweep):
                let angle = start + sweep * t
                return center + GlyphPoint(cos(angle), sin(angle)) * radius
            case let .curve(a, b, c):
                return a * ((1 - t) * (1 - t)) + b * (2 * (1 - t) * t) + c * (t * t)
            }
        }
    }

    /// The stroke with each defining parameter moved by the drawer's noise (`scale` is in glyph units).
    func jittered(_ scale: Double, using generator: inout SeededGenerator) -> GlyphStroke {
        func noise() -> Double { Double(generator.nextUnitFloat() * 2 - 1) * scale }
        func move(_ p: GlyphPoint) -> GlyphPoint { p + GlyphPoint(noise(), noise()) }
        switch self {
        case let .line(a, b):
            return .line(move(a), move(b))
        case let .arc(center, radius, start, sweep):
            return .arc(center: move(center), radius: radius * (1 + noise() * 2),
                        start: start + noise() * 4, sweep: sweep * (1 + noise() * 2))
        case let .curve(a, b, c):
            return .curve(move(a), move(b), move(c))
        }
    }
}

/// The strokes of one character class, and how thick its alphabet writes.
struct GlyphTemplate: Sendable {
    var strokes: [GlyphStroke]
    /// The pen radius in pixels at 105x105 before the drawer's thickness variation.
    var penRadius: Double

    /// Draws a character template: 2 to 4 strokes, lines, arcs and curves, later strokes often
    /// starting on an earlier one, so glyphs look connected like handwriting.
    ///
    /// - Parameters:
    ///   - style: The alphabet's stroke-kind weights (line, arc, curve) and pen radius.
    ///   - generator: The class's own random stream.
    static func random(style: (weights: SIMD3<Double>, penRadius: Double),
                       using generator: inout SeededGenerator) -> GlyphTemplate {
        func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * Double(generator.nextUnitFloat()) }
        func point() -> GlyphPoint { GlyphPoint(uniform(0.2, 0.8), uniform(0.2, 0.8)) }
        let count = 2 + generator.nextInt(below: 3)
        var strokes: [GlyphStroke] = []
        var anchors: [GlyphPoint] = []
        for _ in 0..<count {
            let start = !anchors.isEmpty && generator.nextInt(below: 2) == 0
                ? anchors[generator.nextInt(below: anchors.count)] : point()
            let pick = uniform(0, style.weights.sum())
            let stroke: GlyphStroke
            if pick < style.weights.x {
                let angle = uniform(0, 2 * .pi)
                let length = uniform(0.3, 0.6)
                let end = start + GlyphPoint(cos(angle), sin(angle)) * length
                stroke = .line(start, end.clamped(lowerBound: GlyphPoint(0.12, 0.12), upperBound: GlyphPoint(0.88, 0.88)))
            } else if pick < style.weights.x + style.weights.y {
                let radius = uniform(0.12, 0.28)
                let angle = uniform(0, 2 * .pi)
                let center = (start - GlyphPoint(cos(angle), sin(angle)) * radius)
                    .clamped(lowerBound: GlyphPoint(0.3, 0.3), upperBound: GlyphPoint(0.7, 0.7))
                let sweep = uniform(0.6, 1.6) * .pi * (generator.nextInt(below: 2) == 0 ? 1 : -1)
                stroke = .arc(center: center, radius: radius, start: angle, sweep: sweep)
            } else {
                stroke = .curve(start, point(), point())
            }
            strokes.append(stroke)
            anchors.append(contentsOf: stroke.polyline(5))
        }
        return GlyphTemplate(strokes: strokes, penRadius: style.penRadius)
    }

    /// Renders one drawer's version of the glyph as `side x side` gray bytes (0 ink, 255 paper).
    ///
    /// The drawer perturbs every stroke (endpoint noise), varies the pen thickness by up to
    /// about 20 percent and applies a small affine transform about the centre:
    ///
    /// ```
    /// p' = c + R(theta) * [[sx, shear], [0, sy]] * (p - c) + t
    /// theta in ±0.12 rad, sx, sy in [0.9, 1.1], shear in ±0.1, t in ±0.04, c = (0.5, 0.5)
    /// ```
    ///
    /// - Parameters:
    ///   - side: The output side length (105 for Omniglot-style images).
    ///   - generator: The drawer's own random stream.
    func render(side: Int, using generator: inout SeededGenerator) -> [UInt8] {
        func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * Double(generator.nextUnitFloat()) }
        let theta = uniform(-0.12, 0.12)
        let sx = uniform(0.9, 1.1), sy = uniform(0.9, 1.1), shear = uniform(-0.1, 0.1)
        let shift = GlyphPoint(uniform(-0.04, 0.04), uniform(-0.04, 0.04))
        let radius = penRadius * uniform(0.8, 1.2) * Double(side) / 105
        let center = GlyphPoint(0.5, 0.5)
        func transform(_ p: GlyphPoint) -> GlyphPoint {
            let d = p - center
            let sheared = GlyphPoint(sx * d.x + shear * d.y, sy * d.y)
            let rotated = GlyphPoint(cos(theta) * sheared.x - sin(theta) * sheared.y,
                                     sin(theta) * sheared.x + cos(theta) * sheared.y)
            return (center + rotated + shift) * Double(side)
        }
        var pixels = [UInt8](repeating: 255, count: side * side)
        for stroke in strokes {
            let points = stroke.jittered(0.025, using: &generator).polyline().map(transform)
            for (a, b) in zip(points, points.dropFirst()) {
                Self.stamp(segment: a, b, radius: radius, side: side, into: &pixels)
            }
        }
        return pixels
    }

    /// Inks every pixel whose centre lies within `radius` of the segment (a round pen).
    private static func stamp(segment a: GlyphPoint, _ b: GlyphPoint, radius: Double, side: Int,
                              into pixels: inout [UInt8]) {
        let low = max(0, Int((min(a.x, b.x) - radius).rounded(.down)))
        let high = min(side - 1, Int((max(a.x, b.x) + radius).rounded(.up)))
        let top = max(0, Int((min(a.y, b.y) - radius).rounded(.down)))
        let bottom = min(side - 1, Int((max(a.y, b.y) + radius).rounded(.up)))
        guard low <= high, top <= bottom else { return }
        let d = b - a
        let lengthSquared = max((d * d).sum(), 1e-12)
        for y in top...bottom {
            for x in low...high {
                let p = GlyphPoint(Double(x) + 0.5, Double(y) + 0.5)
                let t = min(1, max(0, ((p - a) * d).sum() / lengthSquared))
                let offset = p - (a + d * t)
                if (offset * offset).sum() <= radius * radius { pixels[y * side + x] = 0 }
            }
        }
    }
}
